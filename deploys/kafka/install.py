"""The Kafka deploy: its steps in order."""
from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

import deploys.common
from deploys.artifacts import install_distribution
from deploys.kafka.admin import admin_password_changes, set_admin_password
from deploys.kafka.configure import configure
from deploys.kafka.restart import start_or_restart, together_reason
from deploys.kafka.settings import CONF_DIR, Settings
from deploys.kafka.storage import format_storage_once
from deploys.kafka.topics import pipeline_objects
from deploys.tls import listener_files
from deploys.topology import address, members, node_id


@deploy("Kafka", data_defaults=Settings.defaults())
def install_kafka():
    """Install Kafka, format its storage once, run it under systemd, roll config
    changes one broker at a time, set a new admin password live, and create the
    pipeline's users, ACLs and topics.

    Args (inventory data, defaults in `Settings`):
        kafka_admin_password: a required secret (the operators' and the deploy's SCRAM user, a super
            user; with TLS off also the brokers' own login)
        kafka_<service>_password: required secrets, one per service's user (deploys/kafka/users.py)
        kafka_port, kafka_internal_port, kafka_controller_port, kafka_heap_mb, kafka_replication_factor,
        kafka_min_insync_replicas, kafka_partitions, kafka_cluster_name, ...
        tls_enabled, tls_dir (deploys/tls): SASL_SSL for clients, mutual TLS between the
            nodes, and no plaintext port
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

    admin_changes = admin_password_changes(settings)
    if admin_changes and node == 1:  # before the admin's client settings are rewritten
        set_admin_password(settings, bootstrap)
    configs = configure(settings, common, home, node, brokers, data_dir, tmp_dir, log_dir, state_dir, bootstrap)
    format_storage_once(settings, user, data_dir)
    together = together_reason(listener_files() is not None, admin_changes)
    start_or_restart(settings, configs, node, bootstrap, together)
    if node == 1:  # cluster-wide objects: asked for and created from the first broker only
        pipeline_objects(settings, len(brokers), bootstrap)
