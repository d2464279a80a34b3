"""Waiting for a stack's rollout: until each changed service has converged, failing with
Swarm's own words when one rolled back or its tasks keep failing."""
import shlex

from pyinfra.api.command import StringCommand
from pyinfra.api.exceptions import DeployError

from marathon import swarm
from marathon.wait import attempts


def wait_for_rollout(manager, tasks: dict[str, str], timeout_s: int) -> None:
    """Until each service (name -> the task digest it wants, marathon/swarm.py's TASK_LABEL)
    has as many tasks running as it wants replicas, every one of the wanted digest, and no
    update in progress. A task with a health check is not running before it passes it.
    Fails naming a service that Swarm rolled back or whose tasks keep failing."""
    script = "".join(
        f"echo \"{name} $(docker service inspect --format '{{{{.Spec.Mode.Replicated.Replicas}}}} "
        f"{{{{if .UpdateStatus}}}}{{{{.UpdateStatus.State}}}}{{{{end}}}}' {name})\"; "
        f"docker service ps -q --filter desired-state=running {name} | xargs -r docker inspect --format "
        f"'  {{{{.Status.State}}}} {{{{index .Spec.ContainerSpec.Labels \"{swarm.TASK_LABEL}\"}}}}'; "
        for name in tasks)
    for _ in attempts(timeout_s, interval=2):
        converged, waiting = _progress(manager, script, tasks)
        if converged:
            return
    late = [entry.split()[0] for entry in waiting]
    raise DeployError(f"pipeline apps: not converged after {timeout_s}s: {', '.join(waiting)}; "
                      f"the tasks' last errors: {_task_errors(manager, list(tasks))}; "
                      f"the last lines each waiting service logged:\n{_last_logs(manager, late)}")


def _progress(manager, script: str, tasks: dict[str, str]) -> tuple[bool, list[str]]:
    """(converged, the services still waiting) as the manager sees them now; fails naming a
    service that Swarm rolled back or paused."""
    ok, output = manager.run_shell_command(StringCommand(script))
    status, waiting = {}, []
    for line in output.stdout_lines if ok else []:
        if not line.startswith(" "):
            name, *rest = line.split()
            wanted, state = (rest + ["", ""])[:2]  # never updated: no state
            status[name] = [int(wanted or 0), state, 0]
        elif line.split() == ["running", tasks[name]]:
            status[name][2] += 1
    for name, (wanted, state, running) in status.items():
        if state in ("rollback_started", "rollback_completed", "rollback_paused", "paused"):
            done = "paused the update" if state == "paused" else "rolled it back"
            raise DeployError(f"pipeline apps: {name}: the update failed, and Swarm {done} ({state}): "
                              f"{_update_message(manager, name)}")
        if state == "updating" or running != wanted:
            waiting.append(f"{name} ({running}/{wanted} of this version running{', updating' if state else ''})")
    return ok and not waiting and len(status) == len(tasks), waiting


def _update_message(manager, service: str) -> str:
    _, output = manager.run_shell_command(StringCommand(
        f"docker service inspect --format '{{{{.UpdateStatus.Message}}}}' {shlex.quote(service)}"))
    return output.stdout.strip() + f"; {_task_errors(manager, [service])}"


def _for_each(manager, services: list[str], command: str) -> list[str]:
    """The lines `command` prints on the manager for each service (named $s in it)."""
    _, output = manager.run_shell_command(StringCommand(
        "for s in " + " ".join(shlex.quote(s) for s in services) + f"; do {command}; done"))
    return output.stdout_lines


def _task_errors(manager, services: list[str]) -> str:
    lines = _for_each(manager, services, "docker service ps --no-trunc "
                                         "--format '{{.Name}} {{.CurrentState}} {{.Error}}' $s | head -3")
    return "; ".join(line for line in lines if line.strip()) or "none recorded"


def _last_logs(manager, services: list[str], lines: int = 15) -> str:
    """The last lines each service's tasks logged (why a task keeps restarting, or is unhealthy)."""
    return "\n".join(_for_each(manager, services, f"echo \"== $s\"; docker service logs --no-trunc --raw "
                                                   f"--tail {lines} $s 2>&1 | cut -c1-400")) or "none"
