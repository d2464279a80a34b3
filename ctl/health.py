"""What `./bigdata status` reports: what each component and each pipeline app of the
local node really answers, not what systemd believes. The components are asked with
the same checks their deploys wait on (each component's `status_check`,
deploys/components.py), run on the node; the apps by Swarm's count of running
replicas and their containers' health checks (each the app's own /health, whose last
answer Docker keeps)."""
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deploys.components import PLATFORM
from marathon import swarm


ATTEMPTS, PAUSE_S = 3, 5  # a component is failing when its check fails this many times in a row


@dataclass
class Health:
    what: str
    healthy: bool
    detail: str


def component_checks(values, name: str, ip: str) -> dict[str, tuple[str, dict]]:
    """component -> (its shell check, the environment it needs), for a one-node platform
    whose host is `name` (its inventory address) at `ip`; values: the host's inventory data."""
    return {component.name: component.status_check(values, name, ip)
            for component in PLATFORM if component.status_check}


def on_node(node: str, script: str, env: dict | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run a shell script on the node (given on stdin: secrets stay out of process lists)."""
    exports = "".join(f"export {key}='{value}'\n" for key, value in (env or {}).items())
    try:
        done = subprocess.run(["docker", "exec", "-i", node, "sh", "-s"], input=exports + script + "\n",
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {timeout:.0f}s"
    return done.returncode, (done.stdout + done.stderr).strip()


def component_health(node: str, checks: dict[str, tuple[str, dict]], attempts: int = ATTEMPTS,
                     pause: float = PAUSE_S) -> list[Health]:
    """Each component's check run on the node; one that fails is asked again, `attempts`
    times in all, `pause` seconds apart: a JVM tool that times out once on a loaded host is
    not an outage, a component that keeps failing for that long is."""
    def ask(item):
        what, (script, env) = item
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause)
            code, output = on_node(node, script, env)
            if code == 0:
                break
        return Health(what, code == 0, last_words(output) or f"exit {code}")
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return list(pool.map(ask, checks.items()))


def last_words(output: str) -> str:
    """The line that says most: the last one, less a Java stack trace's frames (what is left
    is the exception and its cause, not `at ...main(...)`)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith(("at ", "... "))]
    return (said or lines or [""])[-1]


def app_health(node: str, stack: str, apps: list[str]) -> list[Health]:
    """Each app: its Swarm service's replicas running/desired, every container on the node
    healthy, and the consumer lag its last /health answer gave."""
    script = (f"docker service ls --filter label=com.docker.stack.namespace={stack} "
              f"--format 'service {swarm.SERVICE_LS_FORMAT}'; "
              f"docker ps -q --filter label=com.docker.stack.namespace={stack} | xargs -r docker inspect --format "
              "'container {{index .Config.Labels \"com.docker.swarm.service.name\"}} {{json .State.Health}}'")
    code, output = on_node(node, script)
    if code:
        return [Health(app, False, f"Swarm could not say: {output[-200:]}") for app in apps]
    replicas, health = {}, {}
    for line in output.splitlines():
        kind, name, rest = (line.split(" ", 2) + ["", ""])[:3]
        app = name.removeprefix(f"{stack}_")
        if kind == "service":
            replicas[app] = rest
        elif kind == "container":
            health.setdefault(app, []).append(json.loads(rest) if rest.startswith("{") else {})
    return [describe_app(app, replicas.get(app), health.get(app, [])) for app in apps]


def describe_app(app: str, replicas: str | None, containers: list[dict]) -> Health:
    """One line for an app from Swarm's replica count ("running/desired", as `docker service ls`
    says) and its containers' Docker health ({"Status": "healthy", "Log": [{"Output": <the
    /health body>}, ...]})."""
    if replicas is None:
        return Health(app, False, "no such service in the swarm (`./bigdata up` deploys it)")
    running, desired = swarm.parse_replicas(replicas)
    problems, lags = [], []
    if not desired:
        problems.append("scaled to 0")
    elif running != desired:
        problems.append(f"{running}/{desired} replicas running")
    for number, state in enumerate(containers, 1):
        log = state.get("Log") or [{}]
        last = (log[-1].get("Output") or "").strip()
        # the checker prints each port's answer; the service's is the JSON one
        answer = next((line for line in reversed(last.splitlines()) if line.startswith("{")), "")
        body = json.loads(answer) if answer else {}
        if state.get("Status") != "healthy":
            problems.append(f"container {number} {state.get('Status', 'without a health check')}: "
                            f"{body.get('problem') or body.get('status') or last[-160:] or 'no answer yet'}")
        lag = body.get("lag", (body.get("last_batch") or {}).get("offsets_behind_latest"))
        if lag is not None:
            lags.append(lag)
    if problems:
        return Health(app, False, "; ".join(problems))
    lag = f", consumer lag {sum(lags)}" if lags else ""
    return Health(app, True, f"{running}/{desired} replicas running, healthy{lag}")
