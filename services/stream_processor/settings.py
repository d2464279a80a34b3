"""The stream processor's own settings, on top of the ones every service shares
(services/core/settings.py): one environment variable each, with its default.
services/README.md documents them (a unit test keeps the two in step)."""
from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr

from services.core import settings
from services.core.analytics import window_ms
from services.core.settings import Settings, Windows
from services.stream_processor.checkpoint import CHECKPOINT_LAYOUT
from shared import names

DEFAULT_PORT = 8013
SPARK_HOME = "/opt/bigdata/spark"  # where deploys/spark installs the distribution
# under the deploy's Spark data dir; the name carries the job's checkpoint layout (checkpoint.py)
CHECKPOINT = f"/var/lib/bigdata/spark/checkpoints/stream-processor-layout{CHECKPOINT_LAYOUT}"
USED = ("kafka_", "http_", "log_level", "tick_", "spark_", "stream_")  # the shared settings this service reads
SPARK_CONF_SEPARATOR = ";"  # between key=value pairs of BIGDATA_SPARK_CONF (values may hold commas)


def _distinct(labels: tuple[str, ...]) -> tuple[str, ...]:
    if len({window_ms(label) for label in labels}) != len(labels):
        raise ValueError("a window given twice")
    return labels


def _spark_conf(value: str) -> str:
    parse_spark_conf(value)
    return value


class StreamSettings(Settings):
    spark_home: str = Field(SPARK_HOME, description="the Spark distribution (bin/spark-submit, jars/ with the Kafka "
                                                    "connector, python/lib/pyspark.zip)")
    spark_master: str = Field("spark://bigdata:7077", description="the Spark master the job is submitted to (client "
                                                                  "mode), e.g. local[2]")
    spark_auth_secret: SecretStr | None = Field(
        None, description="the Spark cluster's shared secret (secret): the job's RPC with the master and its "
                          "executors authenticated and encrypted (spark.authenticate, spark.network.crypto); "
                          "required by the platform's cluster")
    spark_conf: Annotated[str, AfterValidator(_spark_conf)] = Field(
        "", description="more Spark settings, key=value pairs separated by ';' "
                        "(e.g. spark.driver.host=10.0.0.5;spark.driver.memory=512m)")
    stream_cores: int = Field(0, ge=0, description="executor cores the job takes from the cluster (spark.cores.max); "
                                                   "0 = what the master offers")
    stream_shuffle_partitions: int = Field(0, ge=0,
                                           description="spark.sql.shuffle.partitions; 0 = the cores: "
                                                       "BIGDATA_STREAM_CORES, else spark-defaults.conf's value (the "
                                                       "deploy's), else this host's. Fixed by a checkpoint's first run")
    stream_checkpoint: str = Field(CHECKPOINT, min_length=1,
                                   description="checkpoint directory (offsets, window state); a path every executor "
                                               "and the driver share")
    stream_windows: Annotated[Windows, AfterValidator(_distinct)] = Field(
        ("1s", "1m"), description="tumbling windows, comma-separated labels (digits then ms, s, m or h)")
    stream_watermark_s: float = Field(10.0, gt=0,
                                      description="how late (event time) a tick may arrive and still count: windows "
                                                  "older than the newest trade time minus this are final and dropped "
                                                  "from state")
    stream_trigger_ms: int = Field(0, ge=0,
                                   description="micro-batch interval; 0 = the next batch as soon as the last one is done")
    stream_starting_offsets: Literal["latest", "earliest"] = Field(
        "latest", description="where a new checkpoint starts in the tick topic: latest or earliest "
                              "(a restart always resumes from its checkpoint)")
    stream_max_offsets: int = Field(100000, ge=0, validation_alias="BIGDATA_STREAM_MAX_OFFSETS_PER_TRIGGER",
                                    description="ticks per micro-batch at most (catching up after a stop); "
                                                "0 = no limit")
    stream_group_prefix: str = Field(names.STREAM_GROUP_PREFIX, min_length=1,
                                     description="prefix of the Kafka consumer group ids Spark generates for the job")
    stream_deduplicate: bool = Field(True, description="drop a tick whose id was seen within the watermark (a re-sent "
                                                       "tick counts once)")
    stream_stop_timeout_s: float = Field(20.0, gt=0,
                                         description="on SIGTERM, how long the batch in hand may take to finish "
                                                     "before the query is stopped anyway")
    stream_stall_s: float = Field(180.0, gt=0,
                                  description="health turns degraded when a micro-batch runs longer than this")

    def public(self) -> dict:
        """What this service uses (logged at start), secrets hidden."""
        return {name: value for name, value in super().public().items() if name.startswith(USED)}

    def extra_spark_conf(self) -> dict[str, str]:
        return parse_spark_conf(self.spark_conf)


def parse_spark_conf(text: str) -> dict[str, str]:
    """BIGDATA_SPARK_CONF's key=value pairs; ValueError on one that is not spark.<key>=<value>."""
    conf = {}
    for item in text.split(SPARK_CONF_SEPARATOR):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ValueError(f"{item.strip()!r} is not spark.<key>=<value>")
        conf[key.strip()] = value.strip()
    return conf


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, what it does) for the stream processor's own settings."""
    return settings.describe(StreamSettings, skip=Settings)


def host_cores() -> int:
    return os.cpu_count() or 1
