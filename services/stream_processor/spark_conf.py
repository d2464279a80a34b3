"""Spark's side of the driver: pyspark from the distribution, the Spark settings
(spark-defaults.conf, shuffle partitions for the cores), its log4j2 configuration, and
the equivalent spark-submit command."""
from __future__ import annotations

import json
import os
from pathlib import Path

from services.stream_processor import SERVICE


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
        # no driver UI (port 4040, unauthenticated): the service's /health reports the query
        "spark.ui.enabled": "false",
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
    if settings.spark_auth_secret:  # the cluster's secret: RPC authenticated and encrypted (AES-GCM)
        conf |= {"spark.authenticate": "true", "spark.network.crypto.enabled": "true",
                 "spark.authenticate.secret": settings.spark_auth_secret.get_secret_value()}
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
        if key == "spark.authenticate.secret":  # never printed: a placeholder for the operator's own
            value = "<BIGDATA_SPARK_AUTH_SECRET>"
        command += ["--conf", f"{key}={value}"]
    return command + [entry]
