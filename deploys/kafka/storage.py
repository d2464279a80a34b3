"""Kafka's storage: formatted once, with the cluster id and the admin's SCRAM credential."""
from __future__ import annotations

from pyinfra import host
from pyinfra.api import HiddenValue, QuoteString, StringCommand
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import server

from deploys.kafka.facts import StorageClusterId
from deploys.kafka.settings import CONF_DIR, TOOL, Settings
from shared.names import KAFKA_ADMIN_USER


def format_storage_once(settings: Settings, user: str, data_dir: str) -> None:
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
