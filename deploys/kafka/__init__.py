"""Kafka 4 in KRaft mode from the Apache release archive (or the project's mirror):
every host of group kafka is a combined controller+broker; clients and brokers
authenticate with SASL/SCRAM-SHA-512, the controllers with SASL/PLAIN; ACLs give
the pipeline's user its topics and nothing else.

The storage is formatted once, with a cluster id derived from `kafka_cluster_name`
(or set as `kafka_cluster_id`) and the admin user's SCRAM credential; a later run
never reformats it. A config change restarts the brokers one at a time, each
time waiting until no partition is under-replicated. The pipeline's topics, its
user and its ACLs are created only where the running cluster lacks them.

Operators run Kafka's tools with `kafka-run-class <class> ...` and the admin's
client settings in /etc/kafka/admin.properties (see that file)."""
from __future__ import annotations

import base64
import uuid

from pydantic import Field, field_validator
from pyinfra import host, logger
from pyinfra.api import HiddenValue, QuoteString, StringCommand, deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

import deploys.common
from deploys.artifacts import install_distribution
from deploys.common import template
from deploys.facts import MemoryMb, ResolvedAddress
from deploys.health import restart_and_wait, wait_until
from deploys.kafka.facts import KafkaClusterState, StorageClusterId
from deploys.settings import ComponentSettings
from deploys.topology import address, members, node_id
from deploys.versions import KAFKA_VERSION
from shared.names import ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, KAFKA_ADMIN_USER, KAFKA_CLIENT_USER, TICKS_TOPIC

CONF_DIR = "/etc/kafka"
ADMIN_CONFIG = f"{CONF_DIR}/admin.properties"
CLIENT_CONFIG = f"{CONF_DIR}/client.properties"
TOOL = "/usr/local/bin/kafka-run-class"
JAVA = "/usr/bin/java"
SERVICE = "kafka"
TOPICS = (TICKS_TOPIC, ANALYTICS_TOPIC, DEAD_LETTER_TOPIC)
# what the pipeline's user may do: produce and consume its topics, in any consumer group
CLIENT_TOPIC_OPERATIONS = ("READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")
CLIENT_GROUP_OPERATIONS = ("READ", "DESCRIBE")
# Passwords end up inside JAAS settings and SCRAM tool arguments: no quotes, spaces,
# commas, brackets or '=' (secrets.generate() makes URL-safe ones)
PASSWORD_PATTERN = r"^[A-Za-z0-9._~+/@%:!#*-]{16,}$"
SECRET = "a secret: set {env} in the environment or in inventories/secrets.env"


class Settings(ComponentSettings):
    groups = ("kafka",)

    kafka_port: int = Field(9092, ge=1, le=65535)  # clients and brokers (SASL/SCRAM)
    kafka_controller_port: int = Field(9093, ge=1, le=65535)  # the KRaft quorum (SASL/PLAIN)
    kafka_admin_password: str = Field(pattern=PASSWORD_PATTERN, description=SECRET.format(
        env="BIGDATA_KAFKA_ADMIN_PASSWORD"))
    kafka_client_password: str = Field(pattern=PASSWORD_PATTERN, description=SECRET.format(
        env="BIGDATA_KAFKA_CLIENT_PASSWORD"))
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
    kafka_log_retention_hours: int = Field(168, ge=1)
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


@deploy("Kafka", data_defaults=Settings.defaults())
def install_kafka():
    """Install Kafka, format its storage once, run it under systemd, roll config
    changes one broker at a time, and create the pipeline's users, ACLs and topics.

    Args (inventory data, defaults in `Settings`):
        kafka_admin_password, kafka_client_password: required secrets (the brokers'
            own SCRAM user and the pipeline's)
        kafka_port, kafka_controller_port, kafka_heap_mb, kafka_replication_factor,
        kafka_min_insync_replicas, kafka_partitions, kafka_cluster_name, ...
    """
    settings = Settings.from_host(host)
    common = deploys.common.Settings.from_host(host)
    user = common.service_user
    brokers = members("kafka")
    node = node_id("kafka")
    state_dir = f"{common.data_dir}/kafka"
    data_dir, tmp_dir, log_dir = f"{state_dir}/data", f"{state_dir}/tmp", f"{common.log_dir}/kafka"
    bootstrap = f"{address()}:{settings.kafka_port}"

    home = install_distribution("kafka", common.artifact_base_url, common.install_dir, user)
    for path, owner, mode in ((CONF_DIR, "root", "0750"), (state_dir, user, "0750"), (data_dir, user, "0750"),
                              (tmp_dir, user, "0750"), (log_dir, user, "0755")):
        files.directory(name=f"Create {path}", path=path, user=owner, group=user, mode=mode)

    configs = _configure(settings, common, home, node, brokers, data_dir, tmp_dir, log_dir, state_dir, bootstrap)
    _format_storage_once(settings, user, data_dir)
    _run(settings, configs, node, bootstrap)
    if node == 1:  # cluster-wide objects: asked for and created from the first broker only
        _pipeline_objects(settings, len(brokers), bootstrap, configs["client"])


def _configure(settings, common, home, node, brokers, data_dir, tmp_dir, log_dir, state_dir, bootstrap) -> dict:
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    if not bind_address:
        raise DeployError(f"{host.name}: {address()} does not resolve on the host (Kafka binds to it)")
    count = len(brokers)
    server_properties = files.template(
        name="Configure Kafka (server.properties)", src=template(__package__, "server.properties.j2"),
        dest=f"{CONF_DIR}/server.properties", user="root", group=common.service_user, mode="0640",
        settings=settings, node_id=node, bind_address=bind_address, advertised_host=address(),
        voters=[f"{i}@{address(m)}:{settings.kafka_controller_port}" for i, m in enumerate(brokers, 1)],
        admin_user=KAFKA_ADMIN_USER, data_dir=data_dir,
        replication=settings.replication(count), min_insync=settings.min_insync(count),
    )
    log4j = files.template(
        name="Configure Kafka's logging", src=template(__package__, "log4j2.yaml.j2"), dest=f"{CONF_DIR}/log4j2.yaml",
        mode="0644", log_dir=log_dir, log_file_mb=settings.kafka_log_file_mb, log_files=settings.kafka_log_files,
    )
    files.put(name="Configure the Kafka tools' logging", src=template(__package__, "tools-log4j2.yaml"),
              dest=f"{CONF_DIR}/tools-log4j2.yaml", mode="0644")
    files.template(
        name=f"Install {TOOL}", src=template(__package__, "kafka-run-class.j2"), dest=TOOL, mode="0755",
        java=JAVA, home=home, conf_dir=CONF_DIR, tmp_dir="/var/tmp", tool_heap_mb=256,
        bootstrap=bootstrap, admin_config=ADMIN_CONFIG,
    )
    files.template(
        name="Client settings for the admin (tools, health checks)", src=template(__package__, "client.properties.j2"),
        dest=ADMIN_CONFIG, mode="0600", user="root", group="root", bootstrap=bootstrap,
        user_name=KAFKA_ADMIN_USER, password=settings.kafka_admin_password, path=ADMIN_CONFIG,
    )
    client = files.template(
        name="Client settings for the pipeline's user", src=template(__package__, "client.properties.j2"),
        dest=CLIENT_CONFIG, mode="0600", user="root", group="root", bootstrap=bootstrap,
        user_name=KAFKA_CLIENT_USER, password=settings.kafka_client_password, path=CLIENT_CONFIG,
    )
    nofile = deploys.common.open_files("Kafka", note="enough for a few thousand partitions, not for more")
    memory_mb = host.get_fact(MemoryMb)
    unit = files.template(
        name="Install the Kafka systemd unit", src=template(__package__, "kafka.service.j2"),
        dest=f"/etc/systemd/system/{SERVICE}.service", mode="0644",
        version=KAFKA_VERSION, node_id=node, service_user=common.service_user, state_dir=state_dir,
        nofile=nofile, nofile_capped=nofile < common.nofile_limit, heap_mb=settings.heap_mb(memory_mb), java=JAVA,
        log_dir=log_dir, tmp_dir=tmp_dir, conf_dir=CONF_DIR, home=home,
    )
    return {"server": server_properties, "log4j": log4j, "unit": unit, "client": client}


def _format_storage_once(settings: Settings, user: str, data_dir: str) -> None:
    """Format the log directory with the cluster id and the admin's SCRAM credential,
    only when it was never formatted; refuse to run on storage of another cluster."""
    cluster_id = settings.cluster_id()
    formatted_as = host.get_fact(StorageClusterId, log_dir=data_dir)
    if formatted_as is None:
        scram = HiddenValue(f"SCRAM-SHA-512=[name={KAFKA_ADMIN_USER},password={settings.kafka_admin_password}]")
        server.shell(
            name=f"Format Kafka's storage (cluster id {cluster_id})",
            commands=[StringCommand(f"runuser -u {user} -- {TOOL} kafka.tools.StorageTool format "
                                    f"--config {CONF_DIR}/server.properties --cluster-id {cluster_id} --add-scram",
                                    QuoteString(scram), "> /dev/null")],
        )
    elif formatted_as != cluster_id:
        raise DeployError(
            f"{host.name}: {data_dir} belongs to Kafka cluster {formatted_as}, not {cluster_id} "
            f"(kafka_cluster_name/kafka_cluster_id changed?): refusing to touch it; set kafka_cluster_id "
            f"to {formatted_as} to keep it, or remove the directory to start afresh")


def broker_ready(node: int, bootstrap: str) -> str:
    """A shell check: this broker answers an authenticated request and is not fenced."""
    return (f"{TOOL} org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server {bootstrap} "
            f"--command-config {ADMIN_CONFIG} | grep -q '(id: {node} rack: .* isFenced: false)'")


def no_under_replicated(bootstrap: str) -> str:
    """A shell check: the cluster answers and reports no under-replicated partition."""
    return (f"urp=$({TOOL} org.apache.kafka.tools.TopicCommand --bootstrap-server {bootstrap} "
            f"--command-config {ADMIN_CONFIG} --describe --under-replicated-partitions) "
            f'&& [ -z "$urp" ] || {{ echo "under-replicated: $urp"; false; }}')


def _pascal(operation: str) -> str:
    """DESCRIBE_CONFIGS -> DescribeConfigs, as AclCommand spells operations."""
    return "".join(word.capitalize() for word in operation.split("_"))


def _run(settings: Settings, configs: dict, node: int, bootstrap: str) -> None:
    """Start a stopped broker; restart a running one on a config change, one host
    at a time, each time waiting until it is back and nothing is under-replicated."""
    was_running = host.get_fact(SystemdStatus, services=f"{SERVICE}.service").get(f"{SERVICE}.service", False)
    changed = any_changed(configs["server"], configs["log4j"], configs["unit"])
    timeout = settings.kafka_ready_timeout
    systemd.daemon_reload(name="Reload systemd (Kafka unit)", _if=configs["unit"].did_change)
    if was_running:
        restart_and_wait(
            "Rolling restart of Kafka (one broker at a time, each until no partition is under-replicated)",
            SERVICE, broker_ready(node, bootstrap), no_under_replicated(bootstrap), timeout=timeout, _if=changed)
        systemd.service(name="Keep Kafka enabled and running", service=SERVICE, running=True, enabled=True)
    else:
        # first start (or after a stop): every broker at once, since a quorum needs a majority
        systemd.service(name="Start Kafka", service=SERVICE, running=True, enabled=True)
        wait_until("Wait until this broker has joined the cluster", broker_ready(node, bootstrap),
                   timeout=timeout)


def _pipeline_objects(settings: Settings, brokers: int, bootstrap: str, client_config) -> None:
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


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform (its host is broker 1)."""
    bootstrap = f"{name}:{Settings.from_values(values).kafka_port}"
    return (f"{broker_ready(1, bootstrap)} && {no_under_replicated(bootstrap)} "
            f"&& echo 'broker 1 registered and unfenced, no under-replicated partition'", {})
