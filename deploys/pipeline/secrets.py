"""The apps' secrets as Swarm secrets: each named after a digest of its value (Swarm
secrets cannot change, so a new value is a new secret), the older ones removed once no
service uses them."""
import hashlib

from pyinfra import host
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import server

from deploys.pipeline.prepare import lookup_secret
from marathon import apps as app_defs
from marathon.apps import App
from marathon.schema import AppDefinitionError


def secret_name(stack: str, source: str, value: str) -> str:
    """A Swarm secret's name: a new value is a new secret (Swarm secrets cannot change)."""
    return f"{stack}_{source.lower()}_{hashlib.sha256(value.encode()).hexdigest()[:12]}"


def existing_secrets() -> set[str]:
    """The Swarm secrets there are, seen from this manager."""
    return set((host.get_fact(Command, command="docker secret ls --format '{{.Name}}' 2>/dev/null || true")
                or "").split())


def create_secrets(stack: str, apps: list[App], existing: set[str]) -> dict[str, str]:
    """Secret source -> its Swarm secret, created unless it exists; each value found as
    Marathon's inline submission finds it."""
    values = {}
    for app in apps:
        try:
            inlined = app_defs.inline_secrets(app, lookup_secret).definition["env"]
        except AppDefinitionError as error:
            raise DeployError(f"pipeline apps: {error}") from None
        values.update({source: inlined[key] for key, source in app_defs.secret_sources(app).items()})
    secrets = {source: secret_name(stack, source, value) for source, value in values.items()}
    for source, name in sorted(secrets.items()):
        if name not in existing:
            server.shell(name=f"Swarm secret {name} (from {source})",
                         commands=[f"docker secret create --label io.bigdata.stack={stack} {name} -"],
                         _stdin=values[source])
    return secrets


def remove_unused_secrets(stack: str, existing: set[str], secrets: dict[str, str]) -> None:
    """Older values of the stack's secrets, once no service uses them (a used one is refused: kept)."""
    unused = sorted(name for name in existing if name.startswith(f"{stack}_") and name not in secrets.values())
    if unused:
        server.shell(name=f"Remove {len(unused)} unused secret version(s)",
                     commands=[f"docker secret rm {name} || true" for name in unused])
