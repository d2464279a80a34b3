"""Kafka's configuration on a host: server.properties, logging, the tool wrapper
(`kafka-run-class`), the admin's client settings, the systemd unit,
and with TLS on, the broker's PEM keystore (the host's key and certificate)."""
from __future__ import annotations

from pyinfra import host
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import files

import deploys.common
from deploys.common import plain_file, template
from deploys.facts import MemoryMb, ResolvedAddress
from deploys.kafka.settings import ADMIN_CONFIG, CONF_DIR, JAVA, SERVICE, TOOL
from deploys.tls import listener_files, pem_keystore, pki
from deploys.topology import address
from deploys.versions import KAFKA_VERSION
from shared.names import KAFKA_ADMIN_USER


def node_names(brokers) -> list[str]:
    """The name each broker's certificate gives it (its CN): its principal on the brokers' own listeners."""
    names = [pki.HostNames.of(member.name, address(member)) for member in brokers]
    for member, each in zip(brokers, names):
        if not each:
            raise DeployError(f"{member.name}: neither a DNS name nor an IP address to know this broker by: "
                              f"give the host an `address` in the inventory")
    return [each.common_name for each in names]


def configure(settings, common, home, node, brokers, data_dir, tmp_dir, log_dir, state_dir, bootstrap) -> dict:
    """Kafka's configuration files, the tool wrapper, the clients' settings and the unit;
    returns the operations whose change needs a restart."""
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    if not bind_address:
        raise DeployError(f"{host.name}: {address()} does not resolve on the host (Kafka binds to it)")
    count = len(brokers)
    tls = listener_files()
    # with TLS the nodes know each other by their certificates' names; without, all log in as the admin
    super_users = [f"User:{name}" for name in [KAFKA_ADMIN_USER, *(node_names(brokers) if tls else ())]]
    server_properties = files.template(
        name="Configure Kafka (server.properties)", src=template(__package__, "server.properties.j2"),
        dest=f"{CONF_DIR}/server.properties", user="root", group=common.service_user, mode="0640",
        settings=settings, node_id=node, bind_address=bind_address, advertised_host=address(),
        voters=[f"{i}@{address(m)}:{settings.kafka_controller_port}" for i, m in enumerate(brokers, 1)],
        admin_user=KAFKA_ADMIN_USER, super_users=super_users, data_dir=data_dir,
        replication=settings.replication(count), min_insync=settings.min_insync(count),
        tls=tls, keystore=tls and pem_keystore(tls, CONF_DIR),
    )
    log4j = files.template(
        name="Configure Kafka's logging", src=template(__package__, "log4j2.yaml.j2"), dest=f"{CONF_DIR}/log4j2.yaml",
        mode="0644", log_dir=log_dir, log_file_mb=settings.kafka_log_file_mb, log_files=settings.kafka_log_files,
    )
    files.put(name="Configure the Kafka tools' logging", src=plain_file(__package__, "tools-log4j2.yaml"),
              dest=f"{CONF_DIR}/tools-log4j2.yaml", mode="0644")
    files.template(
        name=f"Install {TOOL}", src=template(__package__, "kafka-run-class.j2"), dest=TOOL, mode="0755",
        java=JAVA, home=home, conf_dir=CONF_DIR, tmp_dir="/var/tmp", tool_heap_mb=256,
        bootstrap=bootstrap, admin_config=ADMIN_CONFIG,
    )
    files.template(
        name="Client settings for the admin (tools, health checks)", src=template(__package__, "client.properties.j2"),
        dest=ADMIN_CONFIG, mode="0600", user="root", group="root", bootstrap=bootstrap, user_name=KAFKA_ADMIN_USER,
        password=settings.kafka_admin_password, path=ADMIN_CONFIG, tls=tls,
    )
    # the one client user of every service before issue 14 has gone, and its settings with it
    files.file(name=f"Remove the retired {CONF_DIR}/client.properties", path=f"{CONF_DIR}/client.properties",
               present=False)
    nofile = deploys.common.open_files("Kafka", note="enough for a few thousand partitions, not for more")
    memory_mb = host.get_fact(MemoryMb)
    unit = files.template(
        name="Install the Kafka systemd unit", src=template(__package__, "kafka.service.j2"),
        dest=f"/etc/systemd/system/{SERVICE}.service", mode="0644",
        version=KAFKA_VERSION, node_id=node, service_user=common.service_user, state_dir=state_dir,
        nofile=nofile, nofile_capped=nofile < common.nofile_limit, heap_mb=settings.heap_mb(memory_mb), java=JAVA,
        log_dir=log_dir, tmp_dir=tmp_dir, conf_dir=CONF_DIR, home=home,
    )
    return {"server": server_properties, "log4j": log4j, "unit": unit}

