"""Client factories: Kafka (confluent-kafka, librdkafka: chosen over kafka-python by
measurement, see services/README.md), Cassandra (the DataStax driver) and Redis,
each configured from Settings, authenticated, and logging through `logging`."""
from __future__ import annotations

import logging
import ssl

from services.core.settings import Settings


# --- Kafka --------------------------------------------------------------------------

def kafka_common(settings: Settings) -> dict:
    config = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": settings.kafka_security_protocol,
        "logger": logging.getLogger("kafka.rdkafka"),
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config.update({
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.require("kafka_user"),
            "sasl.password": settings.require("kafka_password"),
        })
    if settings.kafka_tls():  # the brokers' certificates checked against the CA, and their names
        config.update({"ssl.ca.location": settings.require_file("tls_ca_file"),
                       "ssl.endpoint.identification.algorithm": "https"})
    return config


def producer_config(settings: Settings, **extra) -> dict:
    """Durable by default: every in-sync replica acknowledges, and retries never
    duplicate or reorder (the idempotent producer)."""
    return {
        **kafka_common(settings),
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": settings.producer_linger_ms,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 262_144,
        "message.timeout.ms": 120_000,
        **extra,
    }


def consumer_config(settings: Settings, group: str, **extra) -> dict:
    """Offsets are committed by the service itself, after its writes are durable."""
    return {
        **kafka_common(settings),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": settings.kafka_auto_offset_reset,
        "session.timeout.ms": settings.kafka_session_timeout_ms,
        "heartbeat.interval.ms": max(1000, settings.kafka_session_timeout_ms // 4),
        "enable.partition.eof": False,
        **extra,
    }


def kafka_producer(settings: Settings, **extra):
    from confluent_kafka import Producer
    return Producer(producer_config(settings, **extra))


def kafka_consumer(settings: Settings, group: str, **extra):
    from confluent_kafka import Consumer
    return Consumer(consumer_config(settings, group, **extra))


# --- Cassandra ----------------------------------------------------------------------

def cassandra_session(settings: Settings, keyspace: str | None = None):
    """A session on the cluster (token-aware, local data center first); over TLS, checking
    each node's certificate against the platform's CA and its address, when BIGDATA_CASSANDRA_TLS is on."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy
    from cassandra import ConsistencyLevel

    consistency = getattr(ConsistencyLevel, settings.cassandra_consistency.upper())
    tls = {"ssl_context": ssl.create_default_context(cafile=settings.require_file("tls_ca_file"))} \
        if settings.cassandra_tls else {}
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.cassandra_dc)),
        consistency_level=consistency, request_timeout=15)
    cluster = Cluster(
        contact_points=list(settings.cassandra_hosts), port=settings.cassandra_port,
        auth_provider=PlainTextAuthProvider(settings.require("cassandra_user"), settings.require("cassandra_password")),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10,
        # a node that comes back is used again within seconds (the default waits up to 10 minutes)
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=1.0, max_delay=10.0),
        protocol_version=5, **tls,
    )
    try:
        return cluster.connect(keyspace)
    except Exception:
        cluster.shutdown()
        raise


# --- Redis --------------------------------------------------------------------------

def redis_client(settings: Settings, **extra):
    """A client of Redis as the service's ACL user; over TLS, checking the host's certificate
    against the platform's CA and its name, when BIGDATA_REDIS_TLS is on."""
    import redis
    if settings.redis_tls:
        extra |= {"ssl": True, "ssl_ca_certs": settings.require_file("tls_ca_file"), "ssl_check_hostname": True,
                  "ssl_cert_reqs": "required"}
    return redis.Redis(host=settings.redis_host, port=settings.redis_port, username=settings.redis_user,
                       password=settings.require("redis_password"), socket_timeout=10,
                       socket_connect_timeout=10, health_check_interval=30, decode_responses=True, **extra)
