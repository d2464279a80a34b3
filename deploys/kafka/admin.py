"""The Kafka admin's password. With TLS the brokers know each other by their certificates,
so the admin is the operators' and the deploy's login alone: a new password is set live,
as the admin's SCRAM credential, and no broker restarts. Without TLS the brokers log in as
the admin, so all of them restart together onto the new one (a short outage)."""
from __future__ import annotations

from pyinfra import host
from pyinfra.api import HiddenValue, QuoteString, StringCommand
from pyinfra.operations import server

from deploys.common import password_digest
from deploys.kafka.facts import AdminPasswordDigest
from deploys.kafka.settings import ADMIN_CONFIG, TOOL, Settings
from shared.names import KAFKA_ADMIN_USER


def admin_password_changes(settings: Settings) -> bool:
    """Whether this run gives the admin a new password: the host's admin client settings
    (the password the cluster holds) hold another one."""
    kept = host.get_fact(AdminPasswordDigest, path=ADMIN_CONFIG)
    return kept is not None and kept != password_digest(settings.kafka_admin_password)


def set_admin_password(settings: Settings, bootstrap: str) -> None:
    """The admin's new SCRAM credential, set through the running cluster logged in with the
    password it holds now (the admin's client settings, rewritten after this); once, from the
    first broker. A session open with the old password carries on; a new login with it is refused."""
    scram = HiddenValue(f"SCRAM-SHA-512=[password={settings.kafka_admin_password}]")
    server.shell(
        name=f"Set the Kafka {KAFKA_ADMIN_USER}'s new password (its SCRAM credential, live)",
        commands=[StringCommand(
            f"{TOOL} org.apache.kafka.tools.ConfigCommand --bootstrap-server {bootstrap} "
            f"--command-config {ADMIN_CONFIG} --alter --entity-type users --entity-name {KAFKA_ADMIN_USER} "
            f"--add-config", QuoteString(scram), "> /dev/null")],
    )
