"""The stream processor's pure parts (no Spark here; tests/services runs the job on the
real Spark cluster): settings, the SQL check, Kafka and Spark options, the state store,
progress as counters, and the process's exits."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared import names
from services.core.settings import SettingError
from services.core.tick import REASONS, Rejected, Rules, encode, validate
from services.stream_processor import checkpoint, kafka_options, query_progress, spark_conf, tick_sql
from services.core.analytics import window_ms
from services.stream_processor.settings import StreamSettings, describe

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "services" / "README.md"
NOW = 1_767_225_600_000
RULES = Rules(currencies=frozenset({"USD", "EUR"}))
PASSWORD = {"BIGDATA_KAFKA_USER": "stream-processor", "BIGDATA_KAFKA_PASSWORD": "p" * 20}


def tick(**changes) -> bytes:
    value = {"id": "synthetic-run1-1", "symbol": "AAPL", "price": 187.23, "currency": "USD",
             "trade_time": NOW, "volume": 300, "source": "synthetic"}
    value.update(changes)
    return json.dumps(value).encode()


# --- settings -------------------------------------------------------------------------------

def test_defaults():
    settings = StreamSettings.from_env({})
    assert settings.stream_windows == ("1s", "1m")
    assert settings.spark_home == "/opt/bigdata/spark" and settings.spark_master == "spark://bigdata:7077"
    assert settings.stream_checkpoint.startswith("/var/lib/bigdata/spark/")
    assert settings.stream_group_prefix == names.STREAM_GROUP_PREFIX
    assert settings.stream_starting_offsets == "latest" and settings.stream_deduplicate is True
    assert settings.kafka_user is None and settings.kafka_bootstrap == "bigdata:9092"  # the shared settings come along


@pytest.mark.parametrize("env,needle", [
    ({"BIGDATA_STREAM_WINDOWS": "1s,5x"}, "BIGDATA_STREAM_WINDOWS"),
    ({"BIGDATA_STREAM_WINDOWS": "1s,1000ms"}, "BIGDATA_STREAM_WINDOWS: a window given twice"),
    ({"BIGDATA_STREAM_WATERMARK_S": "0"}, "BIGDATA_STREAM_WATERMARK_S"),
    ({"BIGDATA_STREAM_CORES": "-1"}, "BIGDATA_STREAM_CORES"),
    ({"BIGDATA_STREAM_STARTING_OFFSETS": "middle"}, "BIGDATA_STREAM_STARTING_OFFSETS"),
    ({"BIGDATA_STREAM_DEDUPLICATE": "maybe"}, "BIGDATA_STREAM_DEDUPLICATE"),
    ({"BIGDATA_SPARK_CONF": "spark.a=1;nonsense"}, "BIGDATA_SPARK_CONF"),
    ({"BIGDATA_WRITER_BATCH": "0"}, "BIGDATA_WRITER_BATCH"),  # the shared checks still run
])
def test_bad_values_name_their_variable(env, needle):
    with pytest.raises(SettingError, match=needle):
        StreamSettings.from_env(env)


def test_windows_and_extra_spark_settings_parse():
    settings = StreamSettings.from_env({"BIGDATA_STREAM_WINDOWS": "250ms, 1s,5m,1h",
                                        "BIGDATA_SPARK_CONF": "spark.driver.host=10.0.0.5; spark.x=a,b=c;"})
    assert [window_ms(w) for w in settings.stream_windows] == [250, 1000, 300_000, 3_600_000]
    assert settings.extra_spark_conf() == {"spark.driver.host": "10.0.0.5", "spark.x": "a,b=c"}


def test_the_logged_settings_are_this_services_and_hide_the_password():
    public = StreamSettings.from_env({**PASSWORD, "BIGDATA_REDIS_PASSWORD": "r" * 20}).public()
    assert public["kafka_password"] == "***" and "p" * 20 not in str(public)
    assert "stream_windows" in public and "spark_master" in public and "tick_max_bytes" in public
    assert not any(name.startswith(("producer_", "writer_", "cassandra_", "redis_")) for name in public)


def test_every_setting_is_documented_in_the_services_readme():
    text = README.read_text()
    missing = [env for env, _, _ in describe() if f"`{env}`" not in text]
    assert not missing, f"services/README.md does not document {missing}"


# --- the SQL check: strict, and the only one -------------------------------------------------------

MALFORMED = [
    b"{not json", b"[1]", json.dumps({"id": "x"}).encode(), tick(price="1"), tick(id=""), tick(symbol="aapl"),
    tick(price=-1), tick(volume=1.5), tick(trade_time=NOW + 0.5), tick() + b"x",
]


@pytest.mark.parametrize("value", MALFORMED)
def test_what_validate_refuses_does_not_even_have_the_producers_form(value):
    """The regular expression alone refuses these (the bounds are checked in SQL after it)."""
    with pytest.raises(Rejected):
        validate(value, RULES, NOW, b"AAPL")
    assert not re.search(tick_sql.CANONICAL.replace("\\z", "\\Z"), value.decode("utf-8", "replace"))


def test_no_python_reaches_the_executors_and_the_state_is_in_rocksdb_with_a_changelog():
    settings = StreamSettings.from_env(PASSWORD)
    conf = spark_conf.spark_conf(settings, {}, 2)
    assert conf["spark.sql.streaming.stateStore.providerClass"].endswith(".RocksDBStateStoreProvider")
    assert conf["spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"] == "true"
    for part in (checkpoint, kafka_options, query_progress, spark_conf, tick_sql):  # no UDF, no zip to ship
        assert not hasattr(part, "check") and not hasattr(part, "package_zip"), part.__name__
    assert str(checkpoint.CHECKPOINT_LAYOUT) in checkpoint.LAYOUT_MARKER
    assert "BIGDATA_STREAM_CHECKPOINT" in checkpoint.CHECKPOINT_REFUSAL.format(location="/x")


def test_the_fast_path_sql_quotes_what_comes_from_settings():
    sql = tick_sql.fast_path_sql(Rules(max_bytes=512, currencies=frozenset({"USD", "X'Y"})))
    assert "octet_length(value) <= 512" in sql["fast_ok"]
    assert "currency IN ('USD', 'X\\'Y')" in sql["fast_ok"]
    assert r"\\z'" in sql["fast_ok"], "the pattern ends at the very end (\\z), not before a line break ($)"
    assert list(sql)[-1] == "fast_ok" and set(REASONS) >= {"not_json", "key_mismatch"}


def test_the_fast_paths_pattern_takes_what_the_producer_writes_and_nothing_that_needs_json_escapes():
    pattern = re.compile(tick_sql.CANONICAL.replace(r"\z", r"\Z"))  # Java's \z is Python's \Z
    written = encode("synthetic-run-1", "BRK.A", 101.25, "USD", 1_790_000_000_000, 100, "synthetic")
    assert pattern.match(written)
    assert pattern.match(encode("i", "X", 1e-05, "EUR", 0, 0, "replay"))
    assert not pattern.match(json.dumps(json.loads(written)))  # white space: the exact path decides
    assert not pattern.match(written.replace("BRK.A", "BRK\\u002eA"))  # an escape
    assert not pattern.match(written + "\n") and not pattern.match(written + written)
    assert not pattern.match(written.replace('"volume":100', '"volume":-1'))
    assert not pattern.match(written.replace('"volume":100', '"volume":' + "9" * 19))  # beyond a bigint


def test_the_fast_path_finds_each_value_at_its_place_in_the_producers_form():
    written = encode("synthetic-run-1", "BRK.A", 101.25, "USD", 1_790_000_000_000, 100, "synthetic")
    parts = written.split('"')  # what Spark's split_part(text, '"', n) sees, 1-based
    found = {name: parts[place - 1] for name, place in tick_sql._PLACES.items()}
    assert {name: found[name].strip(":,") for name in ("price", "trade_time", "volume")} == \
        {"price": "101.25", "trade_time": "1790000000000", "volume": "100"}
    assert (found["id"], found["symbol"], found["currency"], found["source"]) == \
        ("synthetic-run-1", "BRK.A", "USD", "synthetic")


# --- Kafka and Spark -------------------------------------------------------------------------

def test_kafka_options_authenticate_as_the_pipeline_user_with_the_group_prefix():
    settings = StreamSettings.from_env({**PASSWORD, "BIGDATA_KAFKA_BOOTSTRAP": "k1:9092,k2:9092"})
    source = kafka_options.source_options(settings)
    assert source["kafka.bootstrap.servers"] == "k1:9092,k2:9092" and source["subscribe"] == names.TICKS_TOPIC
    assert source["kafka.security.protocol"] == "SASL_PLAINTEXT" and source["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert source["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="stream-processor" '
        f'password="{"p" * 20}";')
    assert source["groupIdPrefix"] == names.STREAM_GROUP_PREFIX and source["startingOffsets"] == "latest"
    assert source["maxOffsetsPerTrigger"] == "100000"
    sink = kafka_options.sink_options(settings)
    assert sink["kafka.acks"] == "all" and sink["kafka.enable.idempotence"] == "true" and "subscribe" not in sink
    assert kafka_options.jaas_config('u"1', 'p\\"w') == \
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="u\\"1" password="p\\\\\\"w";'
    with pytest.raises(SettingError, match="BIGDATA_KAFKA_PASSWORD"):
        kafka_options.source_options(StreamSettings.from_env({"BIGDATA_KAFKA_USER": "stream-processor"}))


def test_kafka_options_over_tls_carry_the_ca_inline(tmp_path):
    """The executors get the CA's certificate itself: their hosts need no copy of it at that path."""
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    settings = StreamSettings.from_env({**PASSWORD, "BIGDATA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                        "BIGDATA_TLS_CA_FILE": str(ca)})
    for options in (kafka_options.source_options(settings), kafka_options.sink_options(settings)):
        assert options["kafka.security.protocol"] == "SASL_SSL" and options["kafka.ssl.truststore.type"] == "PEM"
        assert options["kafka.ssl.truststore.certificates"] == ca.read_text()
        assert options["kafka.ssl.endpoint.identification.algorithm"] == "https"
    assert "kafka.ssl.truststore.certificates" not in kafka_options.source_options(StreamSettings.from_env(PASSWORD))


def test_the_clusters_secret_authenticates_and_encrypts_the_jobs_rpc():
    plain = spark_conf.spark_conf(StreamSettings.from_env({}), {}, 2)
    assert "spark.authenticate" not in plain and plain["spark.ui.enabled"] == "false"
    conf = spark_conf.spark_conf(StreamSettings.from_env({"BIGDATA_SPARK_AUTH_SECRET": "s" * 24}), {}, 2)
    assert conf["spark.authenticate"] == "true" and conf["spark.network.crypto.enabled"] == "true"
    assert conf["spark.authenticate.secret"] == "s" * 24


def test_shuffle_partitions_follow_the_cores():
    settings = StreamSettings.from_env({})
    assert spark_conf.shuffle_partitions(settings, {}, 8) == 8
    assert spark_conf.shuffle_partitions(settings, {"spark.sql.shuffle.partitions": "6"}, 8) == 6
    assert spark_conf.shuffle_partitions(settings.replace(stream_cores=3), {"spark.sql.shuffle.partitions": "6"}, 8) == 3
    assert spark_conf.shuffle_partitions(settings.replace(stream_cores=3, stream_shuffle_partitions=4), {}, 8) == 4
    conf = spark_conf.spark_conf(settings.replace(stream_cores=3, spark_conf="spark.locality.wait=1s"), {}, 8)
    assert conf["spark.cores.max"] == "3" and conf["spark.sql.shuffle.partitions"] == "3"
    assert conf["spark.locality.wait"] == "1s" and conf["spark.master"] == "spark://bigdata:7077"


def test_spark_defaults_are_read_as_the_deploy_writes_them(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "spark-defaults.conf").write_text(
        "# Managed by the bigdata bundle\nspark.master                        spark://h:7077\n"
        "spark.sql.shuffle.partitions        4\n\nspark.executor.extraJavaOptions     -Da=1 -Db=2\n")
    assert spark_conf.read_spark_defaults(str(tmp_path)) == {
        "spark.master": "spark://h:7077", "spark.sql.shuffle.partitions": "4",
        "spark.executor.extraJavaOptions": "-Da=1 -Db=2"}
    assert spark_conf.read_spark_defaults(str(tmp_path / "nothing")) == {}


def test_the_driver_jvm_logs_json_lines_on_stdout(tmp_path):
    text = spark_conf.log4j2_properties("INFO")
    assert "rootLogger.level = warn" in text and "SYSTEM_OUT" in text and "JsonTemplateLayout" in text
    assert "rootLogger.level = info" in spark_conf.log4j2_properties("debug")
    template = json.loads(text.split("eventTemplate = ", 1)[1].splitlines()[0])
    assert {"ts", "level", "service", "logger", "event"} <= set(template)
    assert spark_conf.driver_java_options({}, tmp_path / "l.properties") == f"-Dlog4j2.configurationFile=file:{tmp_path}/l.properties"
    assert spark_conf.driver_java_options({"spark.driver.extraJavaOptions": "-Dx=1"}, Path("/l")).endswith(" -Dx=1")


# --- progress --------------------------------------------------------------------------------

PROGRESS = {
    "id": "q", "runId": "r1", "name": "stream_processor", "timestamp": "2026-01-01T00:00:01.000Z",
    "batchId": 7, "batchDuration": 812, "numInputRows": 15,
    "durationMs": {"addBatch": 700, "triggerExecution": 812, "queryPlanning": 60},
    "eventTime": {"max": "2026-01-01T00:00:00.900Z", "watermark": "2026-01-01T00:00:00.000Z"},
    "stateOperators": [
        {"operatorName": "stateStoreSave", "numRowsTotal": 40, "numRowsRemoved": 3, "numRowsDroppedByWatermark": 2},
        {"operatorName": "dedupeWithinWatermark", "numRowsTotal": 900, "numRowsRemoved": 100,
         "numRowsDroppedByWatermark": 2, "customMetrics": {"numDroppedDuplicateRows": 1}},
    ],
    "sources": [{"description": "KafkaV2[Subscribe[stock-ticks]]",
                 "startOffset": {"stock-ticks": {"0": 100, "1": 50, "2": 7}},
                 "endOffset": {"stock-ticks": {"0": 105, "1": 58, "2": 9}},
                 "metrics": {"maxOffsetsBehindLatest": "4", "avgOffsetsBehindLatest": "1.3"}}],
    "observedMetrics": {"refused": {"refused": 3}},
}


def test_a_batch_becomes_counters():
    assert query_progress.records_read(PROGRESS) == 15
    assert query_progress.batch_counts(PROGRESS) == {
        "records": 15, "batches": 1, "late": 2, "duplicates": 1, "windows_closed": 3,
        "refused": 3}
    first = {**PROGRESS, "sources": [{**PROGRESS["sources"][0], "startOffset": None}], "observedMetrics": {}}
    assert query_progress.batch_counts(first)["records"] == 0


def test_a_batch_for_health_and_logs():
    summary = query_progress.progress_summary(PROGRESS)
    assert summary["batch_id"] == 7 and summary["records"] == 15 and summary["offsets_behind_latest"] == 4
    assert summary["watermark"] == "2026-01-01T00:00:00.000Z" and summary["duration_ms"]["addBatch"] == 700
    assert summary["state"][0] == {"operator": "stateStoreSave", "rows": 40, "removed": 3, "late": 2}
    assert query_progress.progress_summary(None) == {}
    assert query_progress.log_fields(PROGRESS)["refused"] == 3
    assert query_progress.as_dict(json.dumps(PROGRESS)) == PROGRESS

    class Progress(dict):  # pyspark's StreamingQueryProgress carries its JSON
        json = json.dumps(PROGRESS)
    assert query_progress.as_dict(Progress()) == PROGRESS


# --- the process -----------------------------------------------------------------------------

def run_module(env, *args):
    return subprocess.run([sys.executable, "-m", "services.stream_processor", *args], cwd=ROOT, timeout=60,
                          env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
                          capture_output=True, text=True)


@pytest.mark.parametrize("env,needle", [
    ({**PASSWORD, "BIGDATA_KAFKA_USER": None}, "BIGDATA_KAFKA_USER is not set"),
    ({**PASSWORD, "BIGDATA_KAFKA_PASSWORD": None}, "BIGDATA_KAFKA_PASSWORD is not set"),
    ({**PASSWORD, "BIGDATA_SPARK_HOME": "/nowhere"}, "BIGDATA_SPARK_HOME: /nowhere holds no Spark distribution"),
    ({**PASSWORD, "BIGDATA_STREAM_WINDOWS": "1y"}, "BIGDATA_STREAM_WINDOWS"),
])
def test_unusable_settings_exit_2_naming_the_variable(env, needle):
    done = run_module(env)
    assert done.returncode == 2, done.stdout + done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["event"] == "bad_settings" and needle in line["error"] and line["service"] == "stream-processor"


def test_print_submit_shows_the_equivalent_spark_submit():
    done = run_module({"BIGDATA_SPARK_MASTER": "spark://m:7077", "BIGDATA_STREAM_CORES": "2",
                       "BIGDATA_SPARK_AUTH_SECRET": "never-printed-0123456789"}, "--print-submit")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("/opt/bigdata/spark/bin/spark-submit --master spark://m:7077 --name stream-processor")
    assert "--conf spark.cores.max=2" in line and "--conf spark.sql.shuffle.partitions=2" in line
    assert line.endswith(" services/stream_processor/job.py") and "password" not in line
    assert "never-printed" not in line and "spark.authenticate.secret=<BIGDATA_SPARK_AUTH_SECRET>" in line
