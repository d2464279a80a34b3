"""Kafka running: a stopped broker started, a running one restarted on a config change,
one broker at a time (or all together, when a node on the old configuration could not
reach one on the new)."""
from __future__ import annotations

from pyinfra import host
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from deploys.health import restart_and_wait, wait_until
from deploys.kafka.checks import broker_ready, no_under_replicated
from deploys.kafka.facts import InterBrokerListener
from deploys.kafka.settings import CONF_DIR, SERVICE, Settings


def together_reason(tls: bool, admin_changes: bool) -> str | None:
    """Why the brokers must restart all together rather than one at a time, or None: their
    own listeners change (from an older bundle: logins to certificates), or, with TLS off,
    they log in as the admin and its password changes."""
    current = host.get_fact(InterBrokerListener, path=f"{CONF_DIR}/server.properties")
    if current and current != ("INTERNAL" if tls else "BROKER"):
        return "the brokers' own listeners change"
    if admin_changes and not tls:
        return "they log in as the admin, whose password changes (TLS off)"
    return None


def start_or_restart(settings: Settings, configs: dict, node: int, bootstrap: str, together: str | None) -> None:
    """Start a stopped broker; restart a running one on a config change, one host
    at a time, each time waiting until it is back and nothing is under-replicated
    (all at once when `together` says why)."""
    was_running = host.get_fact(SystemdStatus, services=f"{SERVICE}.service").get(f"{SERVICE}.service", False)
    changed = any_changed(configs["server"], configs["log4j"], configs["unit"])
    timeout = settings.kafka_ready_timeout
    systemd.daemon_reload(name="Reload systemd (Kafka unit)", _if=configs["unit"].did_change)
    if was_running and together:
        systemd.service(name=f"Restart every broker together ({together})", service=SERVICE, running=True,
                        restarted=True, enabled=True, _if=changed)
        wait_until("Wait until this broker is back", broker_ready(node, bootstrap), timeout=timeout, _if=changed)
    elif was_running:
        restart_and_wait(
            "Rolling restart of Kafka (one broker at a time, each until no partition is under-replicated)",
            SERVICE, broker_ready(node, bootstrap), no_under_replicated(bootstrap), timeout=timeout, _if=changed)
        systemd.service(name="Keep Kafka enabled and running", service=SERVICE, running=True, enabled=True)
    else:
        # first start (or after a stop): every broker at once, since a quorum needs a majority
        systemd.service(name="Start Kafka", service=SERVICE, running=True, enabled=True)
        wait_until("Wait until this broker has joined the cluster", broker_ready(node, bootstrap),
                   timeout=timeout)
