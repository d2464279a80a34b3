"""The Kafka source's and sink's options: SASL/SCRAM as the pipeline's user (over TLS
when the platform's Kafka has it), the topics from shared.names."""
from __future__ import annotations

from shared import names

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
        options["kafka.sasl.jaas.config"] = jaas_config(settings.require("kafka_user"), settings.require("kafka_password"))
    if settings.kafka_tls():  # the CA inline: the executors need no file of it on their hosts
        options |= {"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.certificates": settings.tls_ca_pem(),
                    "kafka.ssl.endpoint.identification.algorithm": "https"}
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
