"""The pipeline's objects in the cluster: its SCRAM user, its ACLs and its topics."""
from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import HiddenValue, QuoteString, StringCommand
from pyinfra.operations import server

from deploys.health import wait_until
from deploys.kafka.facts import KafkaClusterState
from deploys.kafka.settings import ADMIN_CONFIG, TOOL, Settings
from shared.names import ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, KAFKA_CLIENT_USER, TICKS_TOPIC

TOPICS = (TICKS_TOPIC, ANALYTICS_TOPIC, DEAD_LETTER_TOPIC)
# what the pipeline's user may do: produce and consume its topics, in any consumer group
CLIENT_TOPIC_OPERATIONS = ("READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")
CLIENT_GROUP_OPERATIONS = ("READ", "DESCRIBE")


def _pascal(operation: str) -> str:
    """DESCRIBE_CONFIGS -> DescribeConfigs, as AclCommand spells operations."""
    return "".join(word.capitalize() for word in operation.split("_"))



def pipeline_objects(settings: Settings, brokers: int, bootstrap: str, client_config) -> None:
    """The pipeline's SCRAM user, its ACLs and its topics, each only where missing."""
    state = host.get_fact(KafkaClusterState, tool=TOOL, bootstrap=bootstrap, admin_config=ADMIN_CONFIG,
                          principal=f"User:{KAFKA_CLIENT_USER}")
    known = state is not None  # None: no broker answered while planning (a fresh cluster)
    replication, min_insync = settings.replication(brokers), settings.min_insync(brokers)
    admin = f"--bootstrap-server {bootstrap} --command-config {ADMIN_CONFIG}"

    missing_topics = [t for t in TOPICS if not known or t not in state.topics]
    wrong_isr = [t for t in TOPICS if known and t in state.topics
                 and state.topics[t]["configs"].get("min.insync.replicas") != str(min_insync)]
    for topic in TOPICS:
        if known and topic in state.topics and state.topics[topic]["replication"] != replication:
            logger.warning(f"{host.name}: topic {topic} has {state.topics[topic]['replication']} replicas, "
                           f"the inventory asks for {replication}: change it with a partition reassignment")
    user_absent = not known or KAFKA_CLIENT_USER not in state.users
    principal = f"User:{KAFKA_CLIENT_USER}"
    wanted_acls = {(principal, "TOPIC", t, op) for t in TOPICS for op in CLIENT_TOPIC_OPERATIONS}
    wanted_acls |= {(principal, "GROUP", "*", op) for op in CLIENT_GROUP_OPERATIONS}
    acls_missing = not known or not wanted_acls <= state.acls

    if missing_topics or acls_missing or user_absent or wrong_isr:
        wait_until(f"Wait until all {brokers} broker(s) are registered",
                   f"test $({TOOL} org.apache.kafka.tools.BrokerApiVersionsCommand {admin} "
                   f"| grep -c 'isFenced: false') -ge {brokers}", timeout=settings.kafka_ready_timeout)
    # created when absent; its password set again when the inventory's changes
    server.shell(
        name=f"Create the pipeline's user {KAFKA_CLIENT_USER} (SCRAM-SHA-512)",
        commands=[StringCommand(f"{TOOL} org.apache.kafka.tools.ConfigCommand {admin} --alter --entity-type users "
                                f"--entity-name {KAFKA_CLIENT_USER} --add-config",
                                QuoteString(HiddenValue(f"SCRAM-SHA-512=[password={settings.kafka_client_password}]")),
                                "> /dev/null")],
        _if=lambda: user_absent or client_config.did_change(),
    )
    if acls_missing:
        operations = " ".join(f"--operation {_pascal(op)}" for op in CLIENT_TOPIC_OPERATIONS)
        server.shell(
            name=f"Allow {KAFKA_CLIENT_USER} to produce and consume the pipeline's topics",
            commands=[
                f"{TOOL} org.apache.kafka.tools.AclCommand {admin} --add --allow-principal {principal} "
                f"{operations} " + " ".join(f"--topic {t}" for t in TOPICS) + " > /dev/null",
                f"{TOOL} org.apache.kafka.tools.AclCommand {admin} --add --allow-principal {principal} "
                + " ".join(f"--operation {_pascal(op)}" for op in CLIENT_GROUP_OPERATIONS) + " --group '*' > /dev/null",
            ],
        )
    for topic in missing_topics:
        server.shell(
            name=f"Create topic {topic} ({settings.kafka_partitions} partitions, {replication} replicas, "
                 f"min.insync.replicas {min_insync})",
            commands=[f"{TOOL} org.apache.kafka.tools.TopicCommand {admin} --create --if-not-exists "
                      f"--topic {topic} --partitions {settings.kafka_partitions} "
                      f"--replication-factor {replication} --config min.insync.replicas={min_insync}"],
        )
    for topic in wrong_isr:
        server.shell(
            name=f"Set min.insync.replicas={min_insync} on topic {topic}",
            commands=[f"{TOOL} org.apache.kafka.tools.ConfigCommand {admin} --alter --entity-type topics "
                      f"--entity-name {topic} --add-config min.insync.replicas={min_insync}"],
        )
