"""Kafka's settings (inventory data, checked before a run) and where its files live on a host."""
from __future__ import annotations

import base64
import uuid

from pydantic import Field, field_validator

import deploys.common
from deploys.settings import ComponentSettings, Port, secret

CONF_DIR = "/etc/kafka"
ADMIN_CONFIG = f"{CONF_DIR}/admin.properties"
TOOL = "/usr/local/bin/kafka-run-class"
JAVA = "/usr/bin/java"
SERVICE = "kafka"
# Passwords end up inside JAAS settings and SCRAM tool arguments: no quotes, spaces,
# commas, brackets or '=' (secrets.generate() makes URL-safe ones)
PASSWORD_PATTERN = r"^[A-Za-z0-9._~+/@%:!#*-]{16,}$"


class Settings(ComponentSettings):
    groups = ("kafka",)

    kafka_port: Port = 9092  # the services and tools (SASL/SCRAM)
    kafka_internal_port: Port = 9094  # broker to broker (mutual TLS; unused with TLS off)
    kafka_controller_port: Port = 9093  # the KRaft quorum (mutual TLS; SASL/PLAIN with TLS off)
    kafka_admin_password: str = secret("BIGDATA_KAFKA_ADMIN_PASSWORD", pattern=PASSWORD_PATTERN)
    # each service's own user (deploys/kafka/users.py)
    kafka_producer_password: str = secret("BIGDATA_KAFKA_PRODUCER_PASSWORD", pattern=PASSWORD_PATTERN)
    kafka_writer_password: str = secret("BIGDATA_KAFKA_WRITER_PASSWORD", pattern=PASSWORD_PATTERN)
    kafka_stream_password: str = secret("BIGDATA_KAFKA_STREAM_PASSWORD", pattern=PASSWORD_PATTERN)
    kafka_publisher_password: str = secret("BIGDATA_KAFKA_PUBLISHER_PASSWORD", pattern=PASSWORD_PATTERN)
    kafka_live_lane_password: str = secret("BIGDATA_KAFKA_LIVE_LANE_PASSWORD", pattern=PASSWORD_PATTERN)
    # the cluster id is derived from this name, so a run never changes it
    kafka_cluster_name: str = Field("bigdata", min_length=1)
    # or set it outright (e.g. to adopt storage formatted elsewhere): 22 characters of URL-safe base64
    kafka_cluster_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{22}$")
    # JVM heap of a broker; unset: a quarter of the host's memory, within 256..6144 MB
    kafka_heap_mb: int | None = Field(None, ge=128)
    # the pipeline's topics; unset: min(3, brokers) replicas and 2 in sync (1 below 3 replicas)
    kafka_replication_factor: int | None = Field(None, ge=1)
    kafka_min_insync_replicas: int | None = Field(None, ge=1)
    kafka_partitions: int = Field(3, ge=1)
    # how long, and how much per partition (unset: no size limit), a topic keeps; the older
    # segments are deleted first
    kafka_log_retention_hours: int = Field(168, ge=1)
    kafka_log_retention_mb: int | None = Field(None, ge=1)
    # durability (README, "Durability"): unset, Kafka's default: a record is acknowledged once
    # the in-sync replicas have it in memory, and the OS writes it to disk later; set, a
    # partition is fsynced after this many records, or this many ms, whichever comes first
    kafka_flush_messages: int | None = Field(None, ge=1)
    kafka_flush_ms: int | None = Field(None, ge=1)
    kafka_log_segment_mb: int = Field(1024, ge=1, le=2047)
    kafka_network_threads: int = Field(3, ge=1)
    kafka_io_threads: int = Field(8, ge=1)
    kafka_log_file_mb: int = Field(100, ge=1)  # the broker's own log files: size each, and how many kept
    kafka_log_files: int = Field(10, ge=1)
    # how long a broker may take to (re)join and catch up before the deploy fails
    kafka_ready_timeout: int = Field(300, ge=10)

    @field_validator("kafka_cluster_id")
    @classmethod
    def _a_uuid(cls, value):
        if value is not None:
            try:
                uuid.UUID(bytes=base64.urlsafe_b64decode(value + "=="))
            except ValueError as error:
                raise ValueError(f"not a Kafka cluster id (URL-safe base64 of 16 bytes): {error}") from None
        return value

    def replication(self, brokers: int) -> int:
        return self.kafka_replication_factor or min(3, brokers)

    def min_insync(self, brokers: int) -> int:
        if self.kafka_min_insync_replicas:
            return self.kafka_min_insync_replicas
        return 2 if self.replication(brokers) >= 3 else 1

    def cluster_id(self) -> str:
        if self.kafka_cluster_id:
            return self.kafka_cluster_id
        derived = uuid.uuid5(uuid.NAMESPACE_URL, f"bigdata:kafka:{self.kafka_cluster_name}")
        return base64.urlsafe_b64encode(derived.bytes).decode().rstrip("=")

    def heap_mb(self, memory_mb: int | None) -> int:
        return deploys.common.heap_mb(self.kafka_heap_mb, memory_mb, share=4, low=256, high=6144)

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        brokers = group_sizes.get("kafka", 0)
        if not brokers:
            return []
        problems = []
        replication = self.replication(brokers)
        if replication > brokers:
            problems.append(("kafka_replication_factor",
                             f"{replication} replicas, but group kafka has only {brokers} broker(s)"))
        if self.min_insync(brokers) > replication:
            problems.append(("kafka_min_insync_replicas",
                             f"{self.min_insync(brokers)} in-sync replicas required, but topics have only "
                             f"{replication} replica(s): no write could ever succeed"))
        return problems
