"""The pipeline's Kafka users: one per service, each allowed exactly its topics and its
consumer groups (least privilege). The one table both the deploy (SCRAM users, ACLs) and
the tests read; an app definition names its service's user and password secret."""
from __future__ import annotations

from dataclasses import dataclass

from shared import names, secrets

# (principal, resource type, resource name, pattern type, operation), as AclCommand lists them
Acl = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class KafkaUser:
    name: str  # the SCRAM user, the service's name
    password_setting: str  # its password's key in deploys.kafka.Settings (a secret)
    reads: tuple[str, ...] = ()  # topics it consumes
    writes: tuple[str, ...] = ()  # topics it produces to
    group: str | None = None  # the consumer groups it may use: those whose names start with this

    @property
    def principal(self) -> str:
        return f"User:{self.name}"

    @property
    def secret(self) -> str:
        """The environment variable of its password (shared/secrets.py)."""
        return secrets.variable(self.password_setting)

    def acls(self) -> set[Acl]:
        """What it may do: read or write its topics (and find them), use its groups."""
        topics = {(topic, operation) for topic in self.reads for operation in ("READ", "DESCRIBE")}
        topics |= {(topic, operation) for topic in self.writes for operation in ("WRITE", "DESCRIBE")}
        acls = {(self.principal, "TOPIC", topic, "LITERAL", operation) for topic, operation in topics}
        if self.group:
            acls |= {(self.principal, "GROUP", self.group, "PREFIXED", operation) for operation in ("READ", "DESCRIBE")}
        return acls


USERS = (
    KafkaUser("producer", "kafka_producer_password", writes=(names.TICKS_TOPIC,)),
    KafkaUser("storage-writer", "kafka_writer_password", reads=(names.TICKS_TOPIC,),
              writes=(names.DEAD_LETTER_TOPIC,), group=names.WRITER_GROUP),
    # Spark's source assigns partitions itself; the groups it names start with the prefix
    KafkaUser("stream-processor", "kafka_stream_password", reads=(names.TICKS_TOPIC,),
              writes=(names.ANALYTICS_TOPIC,), group=names.STREAM_GROUP_PREFIX),
    KafkaUser("redis-publisher", "kafka_publisher_password", reads=(names.ANALYTICS_TOPIC,),
              writes=(names.DEAD_LETTER_TOPIC,), group=names.PUBLISHER_GROUP),
    KafkaUser("live-lane", "kafka_live_lane_password", reads=(names.TICKS_TOPIC,), group=names.LIVE_GROUP),
)

# the one user of every service before issue 14 (read and write on every topic, any group):
# an upgraded cluster's run removes it
RETIRED_USERS = ("pipeline",)


def user(name: str) -> KafkaUser:
    return next(each for each in USERS if each.name == name)
