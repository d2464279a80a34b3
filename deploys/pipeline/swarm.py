"""The Swarm path, in its order: on every swarm node, what the old one-node runtime left
removed, the images loaded and the apps' host directories made; then, from the first
manager, the secrets, the stack and its rollout, and the secrets no longer used."""
from pathlib import Path

from pyinfra import host
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import files, server

from deploys.pipeline.images import ship_images
from deploys.pipeline.prepare import prepare
from deploys.pipeline.secrets import create_secrets, existing_secrets, remove_unused_secrets
from deploys.pipeline.settings import Settings
from deploys.pipeline.stack import deploy_stack
from deploys.swarm import SwarmNode, leader


def _remove_old_runtime() -> None:
    """What the one-node runtime of before (systemd units running containers) left on a host."""
    units = (host.get_fact(Command, command="ls /etc/systemd/system/ | grep '^bigdata-app-.*@.service$' || true")
             or "").split()
    if units:
        server.shell(name="Remove the one-node runtime's app units (the apps now run on Swarm)", commands=[
            *[f"systemctl disable --now '{unit.replace('@.service', '@*')}' || true" for unit in units],
            *[f"rm -f /etc/systemd/system/{unit}" for unit in units],
            "rm -rf /etc/bigdata/apps /usr/local/lib/bigdata/app_runner.py", "systemctl daemon-reload"])


def run_on_swarm(settings: Settings) -> None:
    apps = prepare(settings, inline_secrets=False)
    node = host.get_fact(SwarmNode)
    if node["state"] != "active":
        raise DeployError(f"pipeline apps: {host.name} is not in a swarm ({node['state']}): "
                          f"deploys/site.py makes the swarm first")
    _remove_old_runtime()
    ship_images(apps, Path(settings.pipeline_image_cache).expanduser())
    # a volume the apps write to is made where missing; a read-only one (the CA's certificate) is the host's own
    for path in sorted({v["hostPath"] for app in apps for v in app.definition.get("container", {}).get("volumes", [])
                        if v.get("mode") != "RO"}):
        files.directory(name=f"Host directory {path} (an app's volume)", path=path)
    if host.name != leader().name:
        return
    existing = existing_secrets()
    secrets = create_secrets(settings.pipeline_stack, apps, existing)
    deploy_stack(settings, apps, secrets)
    remove_unused_secrets(settings.pipeline_stack, existing, secrets)
