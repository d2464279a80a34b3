"""The apps as one Swarm stack: its file on the first manager, deployed only when a
service's spec (its digest, a label on the service) differs from the one wanted, then
followed until the changed services converged."""
import json
from io import StringIO

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import files, python, server

from deploys.pipeline.rollout import wait_for_rollout
from deploys.pipeline.settings import Settings
from deploys.swarm import MANAGERS, WORKERS
from deploys.topology import members
from marathon import swarm
from marathon.apps import App
from marathon.schema import AppDefinitionError

STACKS = "/etc/bigdata/swarm"  # the stack files, on the first manager (no secret in them)


class StackSpecs(FactBase):
    """Seen from a manager: service name -> (its spec digest label, its replicas, its update
    state) of a stack."""

    def command(self, stack: str):
        return (f"docker service ls -q --filter label=com.docker.stack.namespace={stack} 2>/dev/null | "
                f"xargs -r docker service inspect --format '{{{{.Spec.Name}}}} "
                f"{{{{index .Spec.Labels \"{swarm.SPEC_LABEL}\"}}}} {{{{.Spec.Mode.Replicated.Replicas}}}} "
                f"{{{{if .UpdateStatus}}}}{{{{.UpdateStatus.State}}}}{{{{end}}}}' 2>/dev/null || true")

    def process(self, output):
        found = {}
        for line in output:
            name, spec, replicas, state = (line.split() + ["", "", "", ""])[:4]
            found[name] = (spec, int(replicas) if replicas.isdigit() else -1, state)
        return found


def _users(apps: list[App]) -> dict[str, str]:
    """Each account an app runs as (Marathon's `user`, the owner of what it writes to host
    volumes) -> "uid:gid", the same on every swarm node or refused."""
    names = sorted({app.definition["user"] for app in apps if app.definition.get("user")})
    found: dict[str, str] = {}
    for name in names:
        for member in members(MANAGERS) + members(WORKERS):
            ids = (member.get_fact(Command, command=f"echo $(id -u {name} 2>/dev/null):$(id -g {name} 2>/dev/null)")
                   or "").strip()
            if not ids.replace(":", "").isdigit():
                raise DeployError(f"pipeline apps: user {name} (an app's `user`) does not exist on {member.name}")
            if found.setdefault(name, ids) != ids:
                raise DeployError(f"pipeline apps: user {name} is {found[name]} on one swarm node and {ids} on "
                                  f"{member.name}: give it the same uid and gid everywhere")
    return found


def swarm_services(settings: Settings, apps: list[App], secrets: dict[str, str]) -> dict[str, dict]:
    users = _users(apps)
    try:
        return {app.name: swarm.service(app, secrets=secrets, user=users.get,
                                        reservations=settings.pipeline_reservations) for app in apps}
    except AppDefinitionError as error:
        raise DeployError(f"pipeline apps: {error}") from None


def deploy_stack(settings: Settings, apps: list[App], secrets: dict[str, str]) -> None:
    """The stack file written, the stack deployed if a service changed or went, and its rollout waited for."""
    stack = settings.pipeline_stack
    services = swarm_services(settings, apps, secrets)
    path = f"{STACKS}/{stack}.json"
    files.directory(name="Directory for the stack files", path=STACKS, mode="0750")
    files.put(name=f"Stack file {path} ({len(services)} services)", mode="0640",
              src=StringIO(json.dumps(swarm.stack(services), indent=2, sort_keys=True) + "\n"), dest=path)
    current = host.get_fact(StackSpecs, stack=stack) or {}
    wanted = {f"{stack}_{name}": (service["deploy"]["labels"][swarm.SPEC_LABEL], service["deploy"]["replicas"])
              for name, service in services.items()}
    changed = sorted(name for name, spec in wanted.items() if current.get(name, ("", -1, ""))[:2] != spec
                     or current[name][2] not in ("", "completed", "rollback_completed"))
    gone = sorted(set(current) - set(wanted))
    if changed or gone:
        server.shell(name=f"Deploy stack {stack}: {', '.join(changed + [f'remove {g}' for g in gone])}",
                     commands=[f"docker stack deploy --resolve-image never --prune -c {path} {stack}"])
        python.call(name=f"Wait until {', '.join(changed) or 'the stack'} converged (at most "
                         f"{settings.pipeline_rollout_timeout_s}s)",
                    function=wait_for_rollout, manager=host, timeout_s=settings.pipeline_rollout_timeout_s,
                    tasks={name: services[name.removeprefix(f"{stack}_")]["labels"][swarm.TASK_LABEL]
                           for name in changed})
