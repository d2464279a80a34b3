"""Rotating the stores' passwords is a deploy run without downtime, on the three-node rig.
New values for every user of Kafka, Cassandra and Redis, the admins' included (the
services' users are the deploys' own tables: deploys/kafka/users.py, deploys/cassandra/roles.py,
deploys/redis ACL_USERS; the admins are Kafka's `admin`, Cassandra's superuser and Redis'
`admin`), deployed with BIGDATA_COMPONENTS=kafka,cassandra,redis:

- no store restarts (the same process on every host);
- a session opened with an old password before the run carries on after it: a Kafka
  consumer still fetches and the admin's producer still produces, a Cassandra session still
  writes, a Redis subscriber still receives;
- a new login with an old password is refused, with the new one accepted, the admins' too.

Then this run's own passwords come back the same way. (ZooKeeper's admin: test_zookeeper.py;
the whole pipeline rotating its apps' secrets, Spark's included, with the feed flowing, on
one node: tests/e2e/test_up.py.)"""
from __future__ import annotations

import os
import time
import uuid

import pytest
from confluent_kafka import OFFSET_END, KafkaException, TopicPartition

from deploys.cassandra.roles import ROLES
from deploys.kafka.users import USERS
from deploys.redis import ACL_USERS
from servicekit import Kafka, backends_of, unique_group, wait_until
from services.core import clients
from services.core.tick import encode
from shared import names, secrets
from shared.names import KEYSPACE, TICKS_TABLE, TICKS_TOPIC
from tlskit import settle

ADMINS = ("BIGDATA_KAFKA_ADMIN_PASSWORD", "BIGDATA_CASSANDRA_PASSWORD", "BIGDATA_REDIS_PASSWORD")
ROTATED = sorted({user.secret for user in USERS} | {role.secret for role in ROLES}
                 | {secrets.variable(user.password_setting) for user in ACL_USERS} | set(ADMINS))
STORES = ("kafka", "cassandra", "redis-server")
COMPONENTS = {"BIGDATA_COMPONENTS": "kafka,cassandra,redis"}
WRITER, DASHBOARD = "services.storage_writer", "services.dashboard"


def main_pids(platform) -> dict[tuple[str, str], str]:
    return {(name, unit): host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
            for name, host in zip(platform.names, platform.hosts) for unit in STORES}


def rotate(platform, values: dict[str, str], log_name: str):
    """A run of the three stores' deploys with these passwords (the others: this run's)."""
    done = platform.deploy(extra_env={**COMPONENTS, **values},
                           log_name=f"{log_name}-{len(platform.names)}")
    assert done.returncode == 0, done.output[-3000:]
    return done


def insert(session, symbol: str, tick_id: str) -> None:
    session.execute(f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, currency, "
                    f"volume, source) VALUES (%s, %s, toTimestamp(now()), %s, 1.0, 'USD', 1, 'rig')",
                    [symbol, time.strftime("%Y-%m-%d", time.gmtime()), tick_id])


def kafka_refusal(login, brokers: int) -> str | None:
    """None when every broker answers a metadata request of this login, else why not
    (librdkafka reports an authentication failure through its error callback)."""
    errors = []
    probe = clients.kafka_consumer(login, unique_group(names.WRITER_GROUP), error_cb=errors.append)
    try:
        answered = probe.list_topics(TICKS_TOPIC, timeout=15).brokers
        return None if len(answered) == brokers else f"{len(answered)} of {brokers} brokers answered"
    except KafkaException as error:
        probe.poll(1)  # serves the error callback
        return f"{error}: {'; '.join(map(str, errors))}"
    finally:
        probe.close()


@pytest.mark.parametrize("platform", ["three_node"], ids=["three-node"], indirect=True)  # in file order
def test_every_store_password_rotates_in_a_run_and_open_sessions_carry_on(platform):
    settle(platform, COMPONENTS, "rotation-settle")
    others = tuple(platform.names[1:])
    old = backends_of(platform.names[0], others=others)
    generated = secrets.generate()
    fresh = {name: generated[name] for name in ROTATED}
    new = backends_of(platform.names[0], {**os.environ, **fresh}, others=others)
    writer_old, dashboard_old = old.service_settings(WRITER), old.service_settings(DASHBOARD)
    writer_new, dashboard_new = new.service_settings(WRITER), new.service_settings(DASHBOARD)
    symbol = f"ROT{uuid.uuid4().hex[:6].upper()}"
    admin = Kafka(old.settings)

    # sessions each service opened before the run, with its old password
    consumer = clients.kafka_consumer(writer_old, unique_group(names.WRITER_GROUP))
    partitions = consumer.list_topics(TICKS_TOPIC, timeout=30).topics[TICKS_TOPIC].partitions
    consumer.assign([TopicPartition(TICKS_TOPIC, p, OFFSET_END) for p in partitions])
    consumer.poll(5)  # connected to every partition's leader, at the end

    def fetched(label: str) -> bool:
        """A valid tick of this test's symbol on every partition (the writer of a later test
        stores them like any other); the consumer fetches each from its partition's leader."""
        value = encode(f"rot-{label}-{uuid.uuid4().hex[:8]}", symbol, 1.0, "USD", int(time.time() * 1000), 1,
                       "rig").encode()
        for partition in partitions:
            admin.producer.produce(TICKS_TOPIC, value=value, key=symbol, partition=partition)
        assert admin.producer.flush(30) == 0
        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(seen) < len(partitions):
            message = consumer.poll(1)
            if message is not None and not message.error() and message.value() == value:
                seen.add(message.partition())
        return len(seen) == len(partitions)

    cassandra = clients.cassandra_session(writer_old)
    redis = clients.redis_client(dashboard_old)
    subscriber = redis.pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(names.LIVE_CHANNEL)
    try:
        assert fetched("before")
        insert(cassandra, symbol, "before")
        pids = main_pids(platform)

        rotated = rotate(platform, fresh, "rotate")
        assert rotated.changed > 0
        assert main_pids(platform) == pids, "no store restarted"
        # the sessions opened with the old passwords carry on
        assert fetched("after"), "the writer's Kafka consumer and the admin's producer, logged in before, carry on"
        insert(cassandra, symbol, "after")
        assert int(clients.redis_client(new.settings).publish(names.LIVE_CHANNEL, "after the rotation")) >= 1
        message = wait_until(lambda: subscriber.get_message(timeout=1), 30, "the old subscriber's message")
        assert message["data"] == "after the rotation"

        # a new login: the old passwords refused, the new accepted (every Cassandra node, every broker)
        with pytest.raises(Exception, match="Bad credentials"):
            clients.cassandra_session(writer_old)
        fresh_session = clients.cassandra_session(writer_new)
        # a pool on every node (the driver opens the others after the first): each took the new password
        wait_until(lambda: len(fresh_session.get_pool_state()) == len(platform.names), 60,
                   "a connection pool on every Cassandra node with the new password")
        fresh_session.cluster.shutdown()
        with pytest.raises(Exception, match="invalid username-password pair"):
            clients.redis_client(dashboard_old).ping()
        assert clients.redis_client(dashboard_new).ping()
        assert kafka_refusal(writer_new, len(platform.names)) is None
        refusal = kafka_refusal(writer_old, len(platform.names))
        assert refusal and "Authentication failed" in refusal, refusal
        # the admins: the same (Kafka's and Redis' admin, Cassandra's superuser)
        assert kafka_refusal(new.settings, len(platform.names)) is None
        refusal = kafka_refusal(old.settings, len(platform.names))
        assert refusal and "Authentication failed" in refusal, refusal
        with pytest.raises(Exception, match="Bad credentials"):
            clients.cassandra_session(old.settings)
        clients.cassandra_session(new.settings).cluster.shutdown()
        with pytest.raises(Exception, match="invalid username-password pair"):
            clients.redis_client(old.settings).ping()
        assert clients.redis_client(new.settings).ping()
        again = rotate(platform, fresh, "rotate-again")
        assert again.changed == 0, again.output[-3000:]
    finally:
        subscriber.close()
        redis.close()
        cassandra.cluster.shutdown()
        consumer.close()
        admin.close()
        rotate(platform, {}, "rotate-back")  # this run's own passwords again, for the tests after
    assert clients.redis_client(old.service_settings(DASHBOARD)).ping()
