"""Durability as settings (README, "Durability"): each mode of Cassandra's commit log and
Kafka's flushing renders what Cassandra and Kafka read, and the defaults render exactly
what the platform ran before (an upgrade restarts nothing for them)."""
import jinja2
import pytest
import yaml

from deploys.cassandra import Settings as CassandraSettings
from deploys.common import template
from deploys.kafka import Settings as KafkaSettings
from test_kafka_admin import render as render_kafka
from test_kafka_settings import SECRETS as KAFKA_SECRETS

CASSANDRA_SECRETS = {"cassandra_password": "s" * 16, "cassandra_writer_password": "w" * 16,
                     "cassandra_dashboard_password": "d" * 16}


def cassandra_yaml(**settings) -> dict:
    """cassandra.yaml as the deploy renders it (the values this test does not set left empty)."""
    path = template("deploys.cassandra", "cassandra.yaml.j2")
    text = jinja2.Environment(keep_trailing_newline=True).from_string(open(path).read()).render(
        settings=CassandraSettings(**CASSANDRA_SECRETS, **settings), paths={}, tls=None)
    return yaml.safe_load(text)


@pytest.mark.parametrize("settings, expected", [
    ({}, {"commitlog_sync": "periodic", "commitlog_sync_period": "10000ms"}),
    ({"cassandra_commitlog_sync": "batch"}, {"commitlog_sync": "batch"}),
    ({"cassandra_commitlog_sync": "group", "cassandra_commitlog_sync_group_window_ms": 20},
     {"commitlog_sync": "group", "commitlog_sync_group_window": "20ms"}),
])
def test_cassandras_commit_log_sync(settings, expected):
    config = cassandra_yaml(**settings)
    found = {key: value for key, value in config.items() if key.startswith("commitlog_sync")}
    assert found == expected


def test_kafka_flushes_only_when_asked():
    def flush_lines(**settings):
        text = render_kafka("server.properties.j2", settings=KafkaSettings(**KAFKA_SECRETS, **settings), node_id=1,
                            bind_address="10.0.0.1", advertised_host="bigdata", voters=["1@bigdata:9093"],
                            admin_user="admin", super_users=["User:admin"], data_dir="/data", replication=1,
                            min_insync=1, tls=None, keystore=None)
        return [line for line in text.splitlines() if line.startswith("log.flush.")]

    assert flush_lines() == []  # Kafka's default: replication, not fsync, makes a record durable
    assert flush_lines(kafka_flush_messages=1) == ["log.flush.interval.messages=1"]
    assert flush_lines(kafka_flush_messages=1000, kafka_flush_ms=200) == \
        ["log.flush.interval.messages=1000", "log.flush.interval.ms=200"]
