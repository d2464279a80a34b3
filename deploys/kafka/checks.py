"""Shell checks that a broker is ready: the deploy waits on them, `./bigdata status` runs them."""
from __future__ import annotations

from deploys.kafka.settings import ADMIN_CONFIG, TOOL, Settings


def broker_ready(node: int, bootstrap: str) -> str:
    """A shell check: this broker answers an authenticated request and is not fenced."""
    return (f"{TOOL} org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server {bootstrap} "
            f"--command-config {ADMIN_CONFIG} | grep -q '(id: {node} rack: .* isFenced: false)'")


def no_under_replicated(bootstrap: str) -> str:
    """A shell check: the cluster answers and reports no under-replicated partition."""
    return (f"urp=$({TOOL} org.apache.kafka.tools.TopicCommand --bootstrap-server {bootstrap} "
            f"--command-config {ADMIN_CONFIG} --describe --under-replicated-partitions) "
            f'&& [ -z "$urp" ] || {{ echo "under-replicated: $urp"; false; }}')


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform (its host is broker 1)."""
    bootstrap = f"{name}:{Settings.from_values(values).kafka_port}"
    return (f"{broker_ready(1, bootstrap)} && {no_under_replicated(bootstrap)} "
            f"&& echo 'broker 1 registered and unfenced, no under-replicated partition'", {})
