"""The stream processor's own settings, on top of the ones every service shares
(services/core/settings.py): one environment variable each, with its default.
services/README.md documents them (a unit test keeps the two in step)."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

from services.core import analytics
from shared import names
from services.core.analytics import window_ms
from services.stream_processor.plan import CHECKPOINT_LAYOUT
from services.core.settings import Settings, SettingError, setting

DEFAULT_PORT = 8013
SPARK_HOME = "/opt/bigdata/spark"  # where deploys/spark installs the distribution
# under the deploy's Spark data dir; the name carries the job's checkpoint layout (plan.py)
CHECKPOINT = f"/var/lib/bigdata/spark/checkpoints/stream-processor-layout{CHECKPOINT_LAYOUT}"
OFFSET_CHOICES = ("latest", "earliest")
USED = ("kafka_", "http_", "log_level", "tick_", "spark_", "stream_")  # the shared settings this service reads
SPARK_CONF_SEPARATOR = ";"  # between key=value pairs of BIGDATA_SPARK_CONF (values may hold commas)


@dataclass(frozen=True)
class StreamSettings(Settings):
    spark_home: str = setting("BIGDATA_SPARK_HOME", SPARK_HOME,
                              "the Spark distribution (bin/spark-submit, jars/ with the Kafka connector, "
                              "python/lib/pyspark.zip)")
    spark_master: str = setting("BIGDATA_SPARK_MASTER", "spark://bigdata:7077",
                                "the Spark master the job is submitted to (client mode), e.g. local[2]")
    spark_conf: str = setting("BIGDATA_SPARK_CONF", "",
                              "more Spark settings, key=value pairs separated by ';' "
                              "(e.g. spark.driver.host=10.0.0.5;spark.driver.memory=512m)")
    stream_cores: int = setting("BIGDATA_STREAM_CORES", 0,
                                "executor cores the job takes from the cluster (spark.cores.max); "
                                "0 = what the master offers")
    stream_shuffle_partitions: int = setting("BIGDATA_STREAM_SHUFFLE_PARTITIONS", 0,
                                             "spark.sql.shuffle.partitions; 0 = the cores: BIGDATA_STREAM_CORES, "
                                             "else spark-defaults.conf's value (the deploy's), else this host's. "
                                             "Fixed by a checkpoint's first run")
    stream_checkpoint: str = setting("BIGDATA_STREAM_CHECKPOINT", CHECKPOINT,
                                     "checkpoint directory (offsets, window state); a path every executor "
                                     "and the driver share")
    stream_windows: tuple = setting("BIGDATA_STREAM_WINDOWS", ("1s", "1m"),
                                    "tumbling windows, comma-separated labels (digits then ms, s, m or h)")
    stream_watermark_s: float = setting("BIGDATA_STREAM_WATERMARK_S", 10.0,
                                        "how late (event time) a tick may arrive and still count: windows older "
                                        "than the newest trade time minus this are final and dropped from state")
    stream_trigger_ms: int = setting("BIGDATA_STREAM_TRIGGER_MS", 0,
                                     "micro-batch interval; 0 = the next batch as soon as the last one is done")
    stream_starting_offsets: str = setting("BIGDATA_STREAM_STARTING_OFFSETS", "latest",
                                           "where a new checkpoint starts in the tick topic: latest or earliest "
                                           "(a restart always resumes from its checkpoint)")
    stream_max_offsets: int = setting("BIGDATA_STREAM_MAX_OFFSETS_PER_TRIGGER", 100000,
                                      "ticks per micro-batch at most (catching up after a stop); 0 = no limit")
    stream_group_prefix: str = setting("BIGDATA_STREAM_GROUP_PREFIX", names.STREAM_GROUP_PREFIX,
                                       "prefix of the Kafka consumer group ids Spark generates for the job")
    stream_deduplicate: bool = setting("BIGDATA_STREAM_DEDUPLICATE", True,
                                       "drop a tick whose id was seen within the watermark (a re-sent tick "
                                       "counts once)")
    stream_stop_timeout_s: float = setting("BIGDATA_STREAM_STOP_TIMEOUT_S", 20.0,
                                           "on SIGTERM, how long the batch in hand may take to finish before "
                                           "the query is stopped anyway")
    stream_stall_s: float = setting("BIGDATA_STREAM_STALL_S", 180.0,
                                    "health turns degraded when a micro-batch runs longer than this")

    def check(self) -> None:
        super().check()
        problems = []
        for label in self.stream_windows:
            if not analytics.WINDOW_PATTERN.match(label):
                problems.append(("stream_windows", f"{label!r} is not a window label (e.g. 1s, 1m, 500ms)"))
        if not self.stream_windows:
            problems.append(("stream_windows", "at least one window"))
        elif len({window_ms(w) for w in self.stream_windows if analytics.WINDOW_PATTERN.match(w)}) != len(
                self.stream_windows):
            problems.append(("stream_windows", "a window given twice"))
        for name in ("stream_cores", "stream_shuffle_partitions", "stream_trigger_ms", "stream_max_offsets"):
            if getattr(self, name) < 0:
                problems.append((name, "must not be negative"))
        for name in ("stream_watermark_s", "stream_stop_timeout_s", "stream_stall_s"):
            if getattr(self, name) <= 0:
                problems.append((name, "must be greater than 0"))
        if self.stream_starting_offsets not in OFFSET_CHOICES:
            problems.append(("stream_starting_offsets", "must be latest or earliest"))
        if not self.stream_checkpoint:
            problems.append(("stream_checkpoint", "must be set"))
        if not self.stream_group_prefix:
            problems.append(("stream_group_prefix", "must be set"))
        try:
            self.extra_spark_conf()
        except ValueError as error:
            problems.append(("spark_conf", str(error)))
        if problems:
            raise SettingError("; ".join(f"{stream_env_name(n)}: {why}" for n, why in problems))

    def public(self) -> dict:
        """What this service uses (logged at start), secrets hidden."""
        return {name: value for name, value in super().public().items() if name.startswith(USED)}

    def extra_spark_conf(self) -> dict[str, str]:
        conf = {}
        for item in self.spark_conf.split(SPARK_CONF_SEPARATOR):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep or not key.strip().startswith("spark."):
                raise ValueError(f"{item.strip()!r} is not spark.<key>=<value>")
            conf[key.strip()] = value.strip()
        return conf


def stream_env_name(field_name: str) -> str:
    return {f.name: f.metadata["env"] for f in fields(StreamSettings)}[field_name]


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, what it does) for the stream processor's own settings."""
    own = {f.name for f in fields(Settings)}
    rows = []
    for f in fields(StreamSettings):
        if f.name in own:
            continue
        default = ",".join(f.default) if isinstance(f.default, tuple) else f.default
        rows.append((f.metadata["env"], "" if default is None else str(default), f.metadata["doc"]))
    return rows


def host_cores() -> int:
    return os.cpu_count() or 1
