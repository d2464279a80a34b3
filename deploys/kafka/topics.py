"""The pipeline's objects in the cluster: a SCRAM user per service, their ACLs and the topics."""
from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import HiddenValue, QuoteString, StringCommand
from pyinfra.operations import server

from deploys.common import password_digests
from deploys.health import wait_until
from deploys.kafka.facts import KafkaClusterState
from deploys.kafka.settings import ADMIN_CONFIG, CONF_DIR, TOOL, Settings
from deploys.kafka.users import RETIRED_USERS, USERS, Acl
from shared.names import ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, TICKS_TOPIC

TOPICS = (TICKS_TOPIC, ANALYTICS_TOPIC, DEAD_LETTER_TOPIC)
# what the users' passwords were at the last run, as SHA-256 digests (root only): a changed
# line sets that user's password again
PASSWORD_DIGESTS = f"{CONF_DIR}/users.sha256"


def _pascal(operation: str) -> str:
    """DESCRIBE_CONFIGS -> DescribeConfigs, as AclCommand spells operations."""
    return "".join(word.capitalize() for word in operation.split("_"))


def acl_commands(admin: str, action: str, acls: list[Acl]) -> list[str]:
    """AclCommand runs that add or remove these ACLs (`action`: "--add", "--remove --force"),
    one run per principal and resource (each JVM start costs seconds)."""
    by_resource: dict[tuple, list[str]] = {}
    for principal, kind, name, pattern, operation in sorted(acls):
        by_resource.setdefault((principal, kind, name, pattern), []).append(operation)
    return [f"{TOOL} org.apache.kafka.tools.AclCommand {admin} {action} --allow-principal {principal} "
            + " ".join(f"--operation {_pascal(op)}" for op in operations)
            + f" --{kind.lower()} '{name}' --resource-pattern-type {pattern.lower()} > /dev/null"
            for (principal, kind, name, pattern), operations in by_resource.items()]


def pipeline_objects(settings: Settings, brokers: int, bootstrap: str) -> None:
    """The services' SCRAM users, their ACLs and the topics, each only where missing; the
    retired shared user and its ACLs removed."""
    state = host.get_fact(KafkaClusterState, tool=TOOL, bootstrap=bootstrap, admin_config=ADMIN_CONFIG)
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
    absent_users = [u for u in USERS if not known or u.name not in state.users]
    wanted_acls = set().union(*(u.acls() for u in USERS))
    missing_acls = sorted(wanted_acls - state.acls) if known else sorted(wanted_acls)
    retired = [name for name in RETIRED_USERS if known and name in state.users]
    retired_acls = sorted(acl for acl in state.acls if acl[0] in {f"User:{n}" for n in RETIRED_USERS}) if known else []

    if missing_topics or missing_acls or absent_users or wrong_isr or retired or retired_acls:
        wait_until(f"Wait until all {brokers} broker(s) are registered",
                   f"test $({TOOL} org.apache.kafka.tools.BrokerApiVersionsCommand {admin} "
                   f"| grep -c 'isFenced: false') -ge {brokers}", timeout=settings.kafka_ready_timeout)
    digests = password_digests("the services' Kafka passwords", PASSWORD_DIGESTS,
                               {u.name: getattr(settings, u.password_setting) for u in USERS})
    for user in USERS:
        # created when absent; its password set again when the inventory's changes
        server.shell(
            name=f"Create the Kafka user {user.name} (SCRAM-SHA-512)",
            commands=[StringCommand(
                f"{TOOL} org.apache.kafka.tools.ConfigCommand {admin} --alter --entity-type users "
                f"--entity-name {user.name} --add-config",
                QuoteString(HiddenValue(f"SCRAM-SHA-512=[password={getattr(settings, user.password_setting)}]")),
                "> /dev/null")],
            _if=lambda user=user: user in absent_users or digests.did_change(),
        )
    if missing_acls:
        server.shell(
            name=f"Allow each service exactly its topics and groups ({len(missing_acls)} ACLs)",
            commands=acl_commands(admin, "--add", missing_acls),
        )
    if retired_acls:
        server.shell(
            name=f"Remove the ACLs of the retired user(s) {', '.join(RETIRED_USERS)}",
            commands=acl_commands(admin, "--remove --force", retired_acls),
        )
    for name in retired:
        server.shell(
            name=f"Remove the retired Kafka user {name}",
            commands=[f"{TOOL} org.apache.kafka.tools.ConfigCommand {admin} --alter --entity-type users "
                      f"--entity-name {name} --delete-config SCRAM-SHA-512 > /dev/null"],
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
