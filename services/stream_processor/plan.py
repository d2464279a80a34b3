"""The stream processor's pure parts (no pyspark here, so unit tests run without
Spark): Kafka options, Spark settings, the SQL that judges a record, the
checkpoint's layout, and the summary of a query's progress.

How a tick is judged (the contract is services/core/tick.py's `validate()`), in Spark
SQL only, in the one scan of the batch's records (no Python per record): a record
written in the form `encode()` writes (one regular expression: the fields in order, no
white space, nothing that needs JSON's escapes) with every value inside the contract's
bounds is a tick. The checks are stricter than `validate()`'s, never looser, so whatever
passes them `validate()` accepts too, with the same values. Anything else is refused:
counted (`refused`), not dead-lettered: the storage writer, which reads every tick,
owns the dead letters (services/README.md). A valid tick in another JSON form (white
space, another field order, escapes) is stored by the writer and shown by the live lane,
but is not in this lane's windows; every producer of this project writes the form.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from shared import names
from services.core.tick import ID_PATTERN, MAX_PRICE, SOURCES, SYMBOL_PATTERN, Rules

SERVICE = "stream-processor"
# The checkpoint's layout: a marker file in the checkpoint directory names the job's
# query shape (its operators, their state, the state store). Spark cannot run a
# checkpoint of another shape correctly, so the job refuses one (CHECKPOINT_REFUSAL).
# Layout 2: one scan, no dead-letter branch, RocksDB state with changelog checkpoints.
CHECKPOINT_LAYOUT = 2
LAYOUT_MARKER = f"_bigdata_layout_{CHECKPOINT_LAYOUT}"
CHECKPOINT_REFUSAL = ("checkpoint {location} was written by an earlier version of the job (another query "
                      "shape and state store) and cannot be resumed: move it away or delete it (the job then "
                      "starts at BIGDATA_STREAM_STARTING_OFFSETS), or set BIGDATA_STREAM_CHECKPOINT to a new "
                      "directory")


# --- Kafka ----------------------------------------------------------------------------

def jaas_config(user: str, password: str) -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"org.apache.kafka.common.security.scram.ScramLoginModule required username={quoted(user)} " \
           f"password={quoted(password)};"


def kafka_client_options(settings) -> dict[str, str]:
    """The Kafka client settings of Spark's connector (each prefixed with `kafka.`)."""
    options = {"kafka.bootstrap.servers": settings.kafka_bootstrap,
               "kafka.security.protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL"):
        options["kafka.sasl.mechanism"] = settings.kafka_sasl_mechanism
        options["kafka.sasl.jaas.config"] = jaas_config(settings.kafka_user, settings.require("kafka_password"))
    return options


def source_options(settings) -> dict[str, str]:
    """Spark's Kafka source on the tick topic. It assigns partitions itself (no group
    membership, no commits: the checkpoint holds the offsets); the consumer group ids
    it generates start with the prefix, which the user's ACLs must allow."""
    options = {**kafka_client_options(settings),
               "subscribe": names.TICKS_TOPIC,
               "startingOffsets": settings.stream_starting_offsets,
               # ticks deleted by retention while the job was down: go on from what is left
               "failOnDataLoss": "false",
               "groupIdPrefix": settings.stream_group_prefix,
               "kafka.session.timeout.ms": str(settings.kafka_session_timeout_ms),
               # an executor's cached consumer is used by every scan of a batch; its fetch left
               # in flight at the log's end would hold the next scan for up to 500 ms (default)
               "kafka.fetch.max.wait.ms": "10"}
    if settings.stream_max_offsets:
        options["maxOffsetsPerTrigger"] = str(settings.stream_max_offsets)
    return options


def sink_options(settings) -> dict[str, str]:
    """Spark's Kafka sink: the topic is a column of each row;
    acknowledged by every in-sync replica, idempotent, lz4 like the other services."""
    return {**kafka_client_options(settings),
            "kafka.acks": "all", "kafka.enable.idempotence": "true", "kafka.compression.type": "lz4",
            "kafka.linger.ms": "5"}


# --- Spark --------------------------------------------------------------------------------

def pyspark_paths(spark_home: str) -> list[str]:
    """pyspark and py4j as the distribution ships them (no pip install needed)."""
    lib = Path(spark_home) / "python" / "lib"
    py4j = sorted(lib.glob("py4j-*-src.zip"))
    return [str(lib / "pyspark.zip"), *(str(p) for p in py4j[-1:])]


def read_spark_defaults(spark_home: str) -> dict[str, str]:
    """conf/spark-defaults.conf of the distribution (the deploy writes it)."""
    path = Path(spark_home) / "conf" / "spark-defaults.conf"
    conf = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.replace("\t", " ").partition(" ")
                conf[key] = value.strip()
    return conf


def shuffle_partitions(settings, defaults: dict[str, str], cores_here: int) -> int:
    """One per core the job runs on: BIGDATA_STREAM_SHUFFLE_PARTITIONS, else the cores it
    takes (BIGDATA_STREAM_CORES), else the deploy's spark-defaults value (the cluster's
    cores), else this host's cores."""
    if settings.stream_shuffle_partitions:
        return settings.stream_shuffle_partitions
    if settings.stream_cores:
        return settings.stream_cores
    try:
        return max(1, int(defaults["spark.sql.shuffle.partitions"]))
    except (KeyError, ValueError):
        return max(1, cores_here)


def spark_conf(settings, defaults: dict[str, str], cores_here: int) -> dict[str, str]:
    conf = {
        "spark.master": settings.spark_master,
        "spark.app.name": SERVICE,
        "spark.sql.shuffle.partitions": str(shuffle_partitions(settings, defaults, cores_here)),
        # the driver stops the query itself on SIGTERM (then the session)
        "spark.sql.streaming.stopActiveRunOnRestart": "true",
        # a stopped query's batch in hand is interrupted, not waited for minutes
        "spark.sql.streaming.stopTimeout": str(int(settings.stream_stop_timeout_s * 1000)),
        "spark.ui.showConsoleProgress": "false",
        # state in RocksDB, each batch's changes checkpointed as a changelog: the default
        # store (HDFS-backed) copies its whole map every batch, and its cost grows with the state
        "spark.sql.streaming.stateStore.providerClass":
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        # a micro-batch's tasks start at once, not after waiting up to 3 s for a "better" executor
        "spark.locality.wait": "0s",
        # no extra batch without data just to move the watermark on (it would delay the next
        # tick by a batch); windows are closed by the next batch that has data
        "spark.sql.streaming.noDataMicroBatches.enabled": "false",
        # executors whose driver stopped answering (its node lost) exit after 6 missed
        # heartbeats (about a minute, not Spark's ten): their cores go to the driver that
        # the orchestrator starts on another node
        "spark.executor.heartbeat.maxFailures": "6",
    }
    if settings.stream_cores:
        conf["spark.cores.max"] = str(settings.stream_cores)
    conf.update(settings.extra_spark_conf())
    return conf


# The driver JVM's own log lines: one JSON object a line on stdout, the fields of the
# services' lines (services/core/service.py); Spark's INFO chatter only when asked for
LOG_TEMPLATE = json.dumps({
    "ts": {"$resolver": "timestamp", "pattern": {"format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "timeZone": "UTC"}},
    "level": {"$resolver": "level", "field": "name"},
    "service": SERVICE,
    "logger": {"$resolver": "logger", "field": "name"},
    "event": {"$resolver": "message", "stringified": True},
    "error": {"$resolver": "exception", "field": "stackTrace", "stackTrace": {"stringified": True}},
})


def log4j2_properties(log_level: str) -> str:
    level = "info" if log_level.upper() == "DEBUG" else "warn"
    return "\n".join([
        "# written by services.stream_processor for its driver JVM",
        f"rootLogger.level = {level}",
        "rootLogger.appenderRef.stdout.ref = console",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.target = SYSTEM_OUT",
        "appender.console.layout.type = JsonTemplateLayout",
        f"appender.console.layout.eventTemplate = {LOG_TEMPLATE}",
        # the Kafka clients' and Spark's noisiest loggers
        "logger.kafka.name = org.apache.kafka",
        f"logger.kafka.level = {'info' if level == 'info' else 'error'}",
        "logger.jetty.name = org.sparkproject.jetty",
        "logger.jetty.level = warn",
        "",
    ])


def driver_java_options(conf: dict[str, str], log_config: Path) -> str:
    """The driver JVM's options: the log configuration, then whatever was set already."""
    own = f"-Dlog4j2.configurationFile=file:{log_config}"
    return f"{own} {conf['spark.driver.extraJavaOptions']}" if conf.get("spark.driver.extraJavaOptions") else own


def submit_command(settings, entry: str = "services/stream_processor/job.py") -> list[str]:
    """The same job as `spark-submit` starts it, from the directory that holds services/
    (printed by `python -m services.stream_processor --print-submit`; the job ships its
    own modules to the executors)."""
    conf = spark_conf(settings, read_spark_defaults(settings.spark_home), os.cpu_count() or 1)
    command = [f"{settings.spark_home}/bin/spark-submit", "--master", conf.pop("spark.master"),
               "--name", conf.pop("spark.app.name")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command + [entry]


# --- the fast path (Spark SQL over the Kafka source's columns) --------------------------------

def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in(values) -> str:
    return ", ".join(_sql_string(v) for v in sorted(values))


# The fast path takes a record only in the form encode() writes (every producer of this
# project): the fields in that order, no white space, no escapes, numbers as JSON writes
# them with bounded digits. Anything else, valid or not, goes to the exact path.
_WORD = r"[A-Za-z0-9_.\-]{1,32}"                        # a currency or a source, checked by value below
_NUMBER = r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"
_INTEGER = r"(0|[1-9][0-9]{0,17})"                      # < 10^18: fits a bigint; a negative one: exact path
CANONICAL = ("^\\{" + ",".join([
    f'"id":"{ID_PATTERN.pattern[1:-1]}"', f'"symbol":"{SYMBOL_PATTERN.pattern[1:-1]}"', f'"price":{_NUMBER}',
    f'"currency":"{_WORD}"', f'"trade_time":{_INTEGER}', f'"volume":{_INTEGER}', f'"source":"{_WORD}"',
]) + "\\}\\z")
# In that form, the text split at its double quotes has each value at a fixed place
# (`{`, `id`, `:`, <id>, `,`, `symbol`, `:`, <symbol>, `,`, `price`, `:<price>,`, ...)
_PLACES = {"id": 4, "symbol": 8, "price": 11, "currency": 14, "trade_time": 17, "volume": 19, "source": 22}


def fast_path_sql(rules: Rules) -> dict[str, str]:
    """Column name -> Spark SQL expression, evaluated in this order; `fast_ok` says the
    record is a tick by checks at least as strict as validate()'s: one regular
    expression over the text (CANONICAL: nothing in it needs JSON's escapes, so the
    text's values are the values), then the values, taken from their places in the
    text, against the contract's bounds. Everything is ASCII, so the bytes are valid
    UTF-8; \\z ends the match at the very end (Java's $ would let a trailing line
    break through). The values are only read where `fast_ok` holds; elsewhere they
    are whatever the text has at those places (hence try_element_at and try_cast).
    The text is split once (`parts`): Spark keeps a column used many times as its own
    projection rather than computing it again for each use."""
    def value(name: str) -> str:
        return f"try_element_at(parts, {_PLACES[name]})"

    def number(name: str, kind: str) -> str:  # `:<number>,`
        return f"try_cast(substring({value(name)}, 2, length({value(name)}) - 2) AS {kind})"

    return {
        "text": "CAST(value AS STRING)",
        "parts": "split(text, '\"')",
        "id": value("id"), "symbol": value("symbol"), "currency": value("currency"), "source": value("source"),
        "price": number("price", "DOUBLE"), "trade_time": number("trade_time", "BIGINT"),
        "volume": number("volume", "BIGINT"),
        "reference_ms": "CASE WHEN timestampType >= 0 AND unix_millis(timestamp) > 0 THEN unix_millis(timestamp) END",
        "fast_ok": "coalesce(" + " AND ".join([
            f"octet_length(value) <= {int(rules.max_bytes)}",
            f"text RLIKE {_sql_string(CANONICAL)}",
            f"price > 0 AND price < {MAX_PRICE!r}",
            f"currency IN ({_in(rules.currencies)})",
            f"source IN ({_in(SOURCES)})",
            "reference_ms IS NOT NULL",
            f"trade_time <= reference_ms + {int(rules.max_future_ms)}",
            f"trade_time >= reference_ms - {int(rules.max_past_ms)}",
            "(key IS NULL OR key = CAST(symbol AS BINARY))",
        ]) + ", false)",
    }


# --- progress and health ---------------------------------------------------------------------

REFUSED_METRICS = "refused"  # the observed metrics of the scan: records that are not ticks


def _max_of(operators: list, key: str, metric: str | None = None) -> int:
    values = []
    for operator in operators:
        source = operator.get("customMetrics", {}) if metric else operator
        value = source.get(metric or key)
        if isinstance(value, (int, float)):
            values.append(int(value))
    return max(values, default=0)


def records_read(progress: dict) -> int:
    """Records the batch read from Kafka, from its offsets."""
    total = 0
    for source in progress.get("sources") or []:
        start, end = _offsets(source.get("startOffset")), _offsets(source.get("endOffset"))
        for topic, partitions in end.items():
            for partition, offset in partitions.items():
                before = start.get(topic, {}).get(partition)
                if before is not None and offset is not None:
                    total += max(0, int(offset) - int(before))
    return total


def _offsets(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def batch_counts(progress: dict) -> dict[str, int]:
    """What one micro-batch did, as counters: records read, records refused (not ticks),
    ticks dropped as late or as duplicates, windows closed. The deduplication and the aggregation
    both drop a late tick: it is counted once (the larger of their counts)."""
    counts = {"records": records_read(progress), "batches": 1}
    operators = progress.get("stateOperators") or []
    late = _max_of(operators, "numRowsDroppedByWatermark")
    if late:
        counts["late"] = late
    closed = sum(int(o.get("numRowsRemoved") or 0) for o in operators
                 if o.get("operatorName") == "stateStoreSave")
    if closed:
        counts["windows_closed"] = closed  # final: their state dropped once the watermark passed their end
    duplicates = _max_of([o for o in operators if "dedup" in o.get("operatorName", "").lower()],
                         "", "numDroppedDuplicateRows")
    if duplicates:
        counts["duplicates"] = duplicates
    refused = refused_of(progress)
    if refused:
        counts["refused"] = refused
    return counts


def refused_of(progress: dict) -> int:
    return int(((progress.get("observedMetrics") or {}).get(REFUSED_METRICS) or {}).get("refused") or 0)


def progress_summary(progress: dict | None) -> dict:
    """The last micro-batch, for /health."""
    if not progress:
        return {}
    lag = None
    for source in progress.get("sources") or []:
        behind = (source.get("metrics") or {}).get("maxOffsetsBehindLatest")
        if behind is not None:
            lag = max(lag or 0, int(float(behind)))
    event_time = progress.get("eventTime") or {}
    return {
        "batch_id": progress.get("batchId"),
        "batch_at": progress.get("timestamp"),
        "batch_duration_ms": progress.get("batchDuration"),
        "records": records_read(progress),
        "watermark": event_time.get("watermark"),
        "max_event_time": event_time.get("max"),
        "offsets_behind_latest": lag,
        "state": [{"operator": o.get("operatorName"), "rows": o.get("numRowsTotal"),
                   "removed": o.get("numRowsRemoved"), "late": o.get("numRowsDroppedByWatermark")}
                  for o in progress.get("stateOperators") or []],
        "duration_ms": progress.get("durationMs") or {},
    }


def log_fields(progress: dict) -> dict:
    """One batch, compact, for the structured log."""
    durations = progress.get("durationMs") or {}
    return {"batch_id": progress.get("batchId"), "records": records_read(progress),
            "duration_ms": durations.get("triggerExecution"),
            "watermark": (progress.get("eventTime") or {}).get("watermark"),
            "refused": refused_of(progress)}


def as_dict(progress) -> dict | None:
    """A progress as plain JSON data (pyspark's StreamingQueryProgress carries its JSON)."""
    if progress is None:
        return None
    if isinstance(progress, str):
        return json.loads(progress)
    text = getattr(progress, "json", None)
    if isinstance(text, str):
        return json.loads(text)
    return json.loads(json.dumps(progress, default=str))
