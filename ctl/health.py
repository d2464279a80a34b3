"""What `./bigdata status` reports: what each component and each pipeline app of the
local node really answers, not what systemd believes. The components are asked with
the same checks their deploys wait on (deploys/<component>: serving_check,
broker_ready, ready_check, ...), run on the node; the apps by their own /health."""
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deploys import cassandra, kafka, redis, spark, zookeeper
from deploys.pipeline import RUNNER


@dataclass
class Health:
    what: str
    healthy: bool
    detail: str


def component_checks(values, name: str, ip: str) -> dict[str, tuple[str, dict]]:
    """component -> (its shell check, the environment it needs), for a one-node platform
    whose host is `name` (its inventory address) at `ip`; values: the host's inventory data."""
    zookeeper_settings, kafka_settings, cassandra_settings, redis_settings, spark_settings = (
        package.Settings.from_values(values) for package in (zookeeper, kafka, cassandra, redis, spark))
    bootstrap = f"{name}:{kafka_settings.kafka_port}"
    return {
        "zookeeper": (zookeeper.serving_check(zookeeper_settings, name), {}),
        # the one node is broker 1 of its kafka group
        "kafka": (f"{kafka.broker_ready(1, bootstrap)} && {kafka.no_under_replicated(bootstrap)} "
                  f"&& echo 'broker 1 registered and unfenced, no under-replicated partition'", {}),
        "cassandra": (cassandra.ready_check(ip), {"CASSANDRA_USER": cassandra_settings.cassandra_superuser,
                                                  "CASSANDRA_PASSWORD": cassandra_settings.cassandra_password}),
        "redis": (redis.answers_check(redis_settings, ip), {}),
        "spark": (spark.workers_alive_check(spark_settings, name, [name]), {}),
    }


def on_node(node: str, script: str, env: dict | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run a shell script on the node (given on stdin: secrets stay out of process lists)."""
    exports = "".join(f"export {key}='{value}'\n" for key, value in (env or {}).items())
    try:
        done = subprocess.run(["docker", "exec", "-i", node, "sh", "-s"], input=exports + script + "\n",
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {timeout:.0f}s"
    return done.returncode, (done.stdout + done.stderr).strip()


def component_health(node: str, checks: dict[str, tuple[str, dict]]) -> list[Health]:
    def ask(item):
        what, (script, env) = item
        code, output = on_node(node, script, env)
        lines = [line for line in output.splitlines() if line.strip()]
        return Health(what, code == 0, lines[-1] if lines else f"exit {code}")
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return list(pool.map(ask, checks.items()))


def app_health(node: str, apps: list[str]) -> list[Health]:
    """Each app: every instance active and answering /health with 200, and its lag."""
    def ask(app):
        code, output = on_node(node, f"python3 {RUNNER} status {app}")
        if code:
            return Health(app, False, f"the app runner could not say: {output[-200:]}")
        return describe_app(app, json.loads(output.splitlines()[-1]))
    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        return list(pool.map(ask, apps))


def describe_app(app: str, status: dict) -> Health:
    """One line for an app from the runner's status (instances, each one's /health body)."""
    instances, active = status["instances"], status["active"]
    if not instances:
        return Health(app, False, "no instance")
    problems = [f"instance {i} not running" for i in instances if i not in active]
    lags = []
    for instance, body in sorted(status.get("health", {}).items()):
        if body.get("http_status") != 200:
            problems.append(f"instance {instance}: {body.get('problem') or body.get('error') or body.get('status')}")
        lag = body.get("lag", (body.get("last_batch") or {}).get("offsets_behind_latest"))
        if lag is not None:
            lags.append(lag)
    if problems:
        return Health(app, False, "; ".join(problems))
    lag = f", consumer lag {sum(lags)}" if lags else ""
    return Health(app, True, f"{len(active)} instance(s) healthy{lag}")
