"""The Marathon app definitions (marathon/apps/*.json) as a Docker stack file, for
running the pipeline on Docker Swarm instead of Marathon: the definitions stay the
one description of each service, and this module translates them, field by field,
into a Compose file (format "3.8") for `docker stack deploy --resolve-image never
--prune -c FILE bigdata` (Docker 20.10).

    service(app, secrets=..., user=...)  one app -> its Compose service
    stack({name: service, ...})          the whole stack file
    spec_hash(service)                   what the deploy compares to change nothing on a re-run
    parse_replicas("2/3")                a service's (running, desired) as `docker service ls` says

What a definition says that Swarm cannot do the way Marathon does is refused, never
approximated: `service()` raises AppDefinitionError naming the app and listing every
problem, one line per field (marathon/README.md, "On Docker Swarm", has the table).

Why every service is on the host network: Swarm's routing mesh, its virtual IPs and
its ingress network are built on the kernel's IPVS, which these machines' kernel does
not have. So no service publishes ports or joins an overlay network; each joins the
engine's `host` network (`hostnet` below), as the Marathon apps do
(`networks: [{"mode": "host"}]`), binds its port on the node itself and reaches
Kafka, Cassandra and Redis by the names the node resolves.

What the deploy provides: the images are loaded onto the nodes (never pulled, hence
`--resolve-image never`), the secrets are external Swarm secrets it has created under
versioned names (this module only receives source -> name and never sees a value),
and `user()` resolves a Marathon `user` (an account on the hosts) to "uid:gid".

The output is deterministic: the same definitions, secrets and users give the same
dicts and the same spec_hash, which `service()` stores in the service's labels
(SPEC_LABEL) so that a re-run compares hashes and changes nothing. The containers
carry a second digest (TASK_LABEL), of what their tasks are made of only (not
replicas, update or rollback settings, service labels): the deploy waits until every
running task carries the one it wants.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Callable

from marathon.apps import PROJECT_IMAGE, App
from marathon.schema import AppDefinitionError

SPEC_LABEL = "io.bigdata.spec"  # service label: spec_hash() of the service (all but its replica count)
TASK_LABEL = "io.bigdata.task"  # container label: the digest of what Swarm's tasks are made of
APP_LABEL = "io.bigdata.app"
NETWORK = "hostnet"
SECRETS_DIR = "/run/secrets"
HEALTHCHECK_COMMAND = "bigdata-healthcheck"  # in the project's images (images/pipeline/healthcheck.py)
NO_IPVS = "only host networking: this machine's kernel has no IPVS for Swarm's routing mesh"
# `docker service ls --format`: each service's name, then what parse_replicas() reads
SERVICE_LS_FORMAT = "{{.Name}} {{.Replicas}}"

# Fields translated by service() (some refused for some values).
TRANSLATED = {"args", "cmd", "container", "env", "networks", "portDefinitions", "instances", "cpus", "mem",
              "disk", "gpus", "user", "healthChecks", "upgradeStrategy", "constraints", "backoffSeconds",
              "taskKillGracePeriodSeconds", "labels"}
# Accepted, with nothing to write: Swarm does it its own way, or another field carries it.
LEFT_TO_ENGINE = {
    "id": "the service is named after the file; the id is the label io.bigdata.app",
    "backoffFactor": "Swarm restarts at a constant delay (backoffSeconds)",
    "maxLaunchDelaySeconds": "Swarm restarts at a constant delay (backoffSeconds)",
    "unreachableStrategy": "Swarm reschedules a down node's tasks itself",
    "killSelection": "Swarm chooses which task to stop when scaling down",
    "requirePorts": "host networking always binds the port given",
    "secrets": "consumed through env",
}

# Marathon's defaults (types/healthCheck.raml, types/app.raml).
HEALTH_DEFAULTS = {"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 300,
                   "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3, "delaySeconds": 15}
UPGRADE_DEFAULTS = {"minimumHealthCapacity": 1, "maximumOverCapacity": 1}
MONITOR_WITHOUT_HEALTHCHECK_S = 30


def service(app: App, *, secrets: dict[str, str], user: Callable[[str], str] | None = None,
            reservations: bool = False) -> dict:
    """One app -> its Compose service dict. `secrets`: a secret's source (what
    app.definition["secrets"][name]["source"] says) -> the external Swarm secret's name.
    `user`: a Marathon `user` (a host account) -> "uid:gid"; None with a definition that
    has `user` is refused. `reservations`: reserve the limits too (Swarm then places a
    task only where they are free). Raises AppDefinitionError with every problem."""
    d = app.definition
    problems: list[str] = []
    problems += [f"{field}: not translated to Swarm" for field in d
                 if field not in TRANSLATED and field not in LEFT_TO_ENGINE]

    image, volumes = _container(d, problems)
    if "cmd" in d:
        problems.append("cmd: a shell command is not translated; use args (exec form, the image's entrypoint stays)")
    environment, secret_mounts = _environment(d, secrets, problems)
    port_env, fixed_port = _ports(d, problems)
    environment.update(port_env)
    if d.get("networks") not in (None, [], [{"mode": "host"}]):  # none: Marathon's default, host
        problems.append(f"networks: {json.dumps(d.get('networks'))}: {NO_IPVS}; "
                        f"set networks to [{{\"mode\": \"host\"}}]")
    for field in ("disk", "gpus"):
        if d.get(field, 0) > 0:
            problems.append(f"{field}: {d[field]} cannot be reserved on Swarm (set 0 or remove it)")
    healthcheck, monitor = _healthcheck(d, image, problems)
    placement, one_per_node = _placement(d, fixed_port, problems)
    replicas = d.get("instances", 1)
    update_config, rollback_config = _upgrade(d, replicas, monitor, one_per_node, problems)
    uid_gid = None
    if "user" in d and user is None:
        problems.append(f"user: {d['user']!r} needs its uid:gid on the nodes, and no resolver was given")
    elif "user" in d:
        uid_gid = user(d["user"])
        if not uid_gid:
            problems.append(f"user: {d['user']!r} has no uid:gid on the nodes")
    if problems:
        raise AppDefinitionError(app.label, problems)

    labels = {**d.get("labels", {}), APP_LABEL: app.id}
    limits = {"cpus": _number(d.get("cpus", 1)), "memory": f"{_number(d.get('mem', 128))}M"}
    out: dict = {"image": image}
    if "args" in d:
        out["command"] = list(d["args"])
    if uid_gid:
        out["user"] = uid_gid
    out["environment"] = dict(sorted(environment.items()))
    if secret_mounts:
        out["secrets"] = secret_mounts
    if volumes:
        out["volumes"] = volumes
    out["networks"] = [NETWORK]
    if healthcheck:
        out["healthcheck"] = healthcheck
    if "taskKillGracePeriodSeconds" in d:
        out["stop_grace_period"] = f"{d['taskKillGracePeriodSeconds']}s"
    out["labels"] = dict(labels)  # + TASK_LABEL below
    out["deploy"] = {
        "mode": "replicated",
        "replicas": replicas,
        "resources": {"limits": limits, **({"reservations": dict(limits)} if reservations else {})},
        "restart_policy": {"condition": "any", "delay": f"{d.get('backoffSeconds', 1)}s"},
        "update_config": update_config,
        "rollback_config": rollback_config,
        **({"placement": placement} if placement else {}),
        "labels": dict(labels),
    }
    out["labels"][TASK_LABEL] = _digest(_task_part(out))
    out["deploy"]["labels"][SPEC_LABEL] = spec_hash(out)
    return out


def stack(services: dict[str, dict]) -> dict:
    """name -> service dict (as service() gives) -> the whole stack file: every service
    on the host network, and every secret they mount declared external. A `$` in a value
    is written `$$`: `docker stack deploy` would otherwise replace `$PORT0` in an app's
    args with the deploying shell's variable (Compose interpolation); the container's
    own shell is what must see it."""
    names = sorted({mount["source"] for s in services.values() for mount in s.get("secrets", [])})
    return {
        "version": "3.8",
        "services": {name: _literal(service) for name, service in services.items()},
        "networks": {NETWORK: {"external": True, "name": "host"}},
        **({"secrets": {name: {"external": True} for name in names}} if names else {}),
    }


def _literal(value):
    """Every string in `value` with `$` doubled (Compose's escape), keys left as they are."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


def spec_hash(service: dict) -> str:
    """sha256 (first 16 hex digits) of the service as canonical JSON, without SPEC_LABEL and
    without the replica count: a deploy compares that with the service's own count, so that
    a scaled service (`docker service scale`) keeps its digest."""
    labels = {k: v for k, v in service.get("deploy", {}).get("labels", {}).items() if k != SPEC_LABEL}
    deploy = {k: v for k, v in service.get("deploy", {}).items() if k != "replicas"}
    without = {**service, "deploy": {**deploy, "labels": labels}} if "deploy" in service else service
    return _digest(without)


def parse_replicas(column: str) -> tuple[int, int]:
    """(running, desired) from the REPLICAS column of `docker service ls`: "2/3",
    "1/1 (max 1 per node)" (a placement limit follows the count)."""
    running, _, desired = column.split()[0].partition("/")
    return int(running), int(desired)


def _digest(value) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _task_part(service: dict) -> dict:
    """What Swarm builds a task from (its TaskSpec: the container, resources, restart
    policy, placement): a change there replaces the tasks; replicas, update and
    rollback settings and service labels do not."""
    deploy = service.get("deploy", {})
    return {**{k: v for k, v in service.items() if k != "deploy"},
            "labels": {k: v for k, v in service.get("labels", {}).items() if k != TASK_LABEL},
            "deploy": {k: deploy[k] for k in ("resources", "restart_policy", "placement") if k in deploy}}


# --- one function per group of fields; each appends its problems ------------------------
def _container(d: dict, problems: list[str]) -> tuple[str, list[dict]]:
    container = d.get("container") or {}
    docker = container.get("docker") or {}
    if container.get("type") != "DOCKER":
        problems.append(f"container.type: {container.get('type')!r}: only DOCKER containers run on Swarm")
    if not docker.get("image"):
        problems.append("container.docker.image: missing")
    if docker.get("forcePullImage"):
        problems.append("container.docker.forcePullImage: true refused: the images are loaded onto the nodes, "
                        "never pulled")
    if docker.get("privileged"):
        problems.append("container.docker.privileged: true refused: no privileged containers")
    if docker.get("parameters"):
        problems.append("container.docker.parameters: raw docker run parameters are not translated to Swarm")
    if container.get("portMappings") or docker.get("portMappings"):
        problems.append(f"container.portMappings: refused: {NO_IPVS}; use portDefinitions")
    problems += [f"container.{k}: not translated to Swarm" for k in container
                 if k not in ("type", "docker", "volumes", "portMappings")]
    problems += [f"container.docker.{k}: not translated to Swarm" for k in docker
                 if k not in ("image", "forcePullImage", "privileged", "parameters", "portMappings")]
    volumes = []
    for i, volume in enumerate(container.get("volumes") or []):
        kind = next((k for k in ("persistent", "external", "secret") if k in volume), None)
        if kind or "hostPath" not in volume:
            problems.append(f"container.volumes[{i}]: {kind or 'this'} volumes are not translated to Swarm "
                            f"(only host paths: hostPath, containerPath, mode)")
            continue
        volumes.append({"type": "bind", "source": volume["hostPath"], "target": volume["containerPath"],
                        "read_only": volume.get("mode") == "RO"})
    return docker.get("image", ""), volumes


def _environment(d: dict, secrets: dict[str, str], problems: list[str]) -> tuple[dict, list[dict]]:
    """Plain values as they are; a secret reference as a file in /run/secrets, named by
    <KEY>_FILE (the services read BIGDATA_X_FILE), its value never here."""
    declared = d.get("secrets") or {}
    environment, mounts = {}, {}
    for key, value in sorted((d.get("env") or {}).items()):
        if isinstance(value, str):
            environment[key] = value
            continue
        name = value.get("secret") if isinstance(value, dict) else None
        source = (declared.get(name) or {}).get("source")
        if source is None:
            problems.append(f"env.{key}: neither a string nor a reference to a secret `secrets` declares")
        elif source not in secrets:
            problems.append(f"env.{key}: secret {name!r} (source {source}) has no Swarm secret "
                            f"(the deploy creates one per source)")
        else:
            environment[f"{key}_FILE"] = f"{SECRETS_DIR}/{name}"
            # 0444: the container's user (not root) must read it; /run/secrets is a
            # tmpfs of this container only. (The YAML carries 292, the same mode.)
            mounts[name] = {"source": secrets[source], "target": name, "mode": 0o444}
    return environment, [mounts[name] for name in sorted(mounts)]


def _ports(d: dict, problems: list[str]) -> tuple[dict, bool]:
    """The one port as Marathon passes it ($PORT0, $PORTS); port 0: the service binds a
    free one, which the image's health checker finds. Returns (env, a fixed port?)."""
    definitions = d.get("portDefinitions") or []
    if len(definitions) > 1:
        problems.append(f"portDefinitions: {len(definitions)} ports; at most one is translated")
    if not definitions:
        return {}, False
    port, protocol = definitions[0].get("port", 0), definitions[0].get("protocol", "tcp")
    if protocol != "tcp":
        problems.append(f"portDefinitions[0].protocol: {protocol!r}; only tcp is translated")
    return {"PORT0": str(port), "PORTS": str(port)}, port != 0


def _healthcheck(d: dict, image: str, problems: list[str]) -> tuple[dict | None, int]:
    """Swarm cannot probe a task from outside: the check runs inside the container.
    Returns (the healthcheck, how long a rolling update watches a new task: its start
    period, then as many failed checks as make it unhealthy, and 10 s to spare)."""
    checks = d.get("healthChecks") or []
    if len(checks) > 1:
        problems.append(f"healthChecks: {len(checks)} checks; at most one is translated")
    if not checks:
        return None, MONITOR_WITHOUT_HEALTHCHECK_S  # the image's own HEALTHCHECK, if any, applies
    check = {**HEALTH_DEFAULTS, **checks[0]}
    where, protocol = "healthChecks[0]", check["protocol"]
    found = len(problems)
    if protocol in ("HTTP", "MESOS_HTTP"):
        test = ["CMD", HEALTHCHECK_COMMAND, check["path"]]
        if not PROJECT_IMAGE.match(image):
            problems.append(f"{where}: the {protocol} check runs inside the container with {HEALTHCHECK_COMMAND}, "
                            f"which only the project's images (bigdata/<name>:<tag>) have; {image!r} is not one "
                            f"(use a COMMAND check)")
        if check["portIndex"] != 0:
            problems.append(f"{where}.portIndex: {check['portIndex']}; only port index 0 is translated")
        if not d.get("portDefinitions"):
            problems.append(f"{where}.portIndex: the app defines no port")
        if check.get("ignoreHttp1xx"):
            problems.append(f"{where}.ignoreHttp1xx: not translated ({HEALTHCHECK_COMMAND} wants a 200)")
    elif protocol == "COMMAND":
        test = ["CMD-SHELL", (check.get("command") or {}).get("value", "")]
        if not test[1]:
            problems.append(f"{where}.command.value: missing")
    else:
        test = []
        problems.append(f"{where}.protocol: {protocol} is not translated to Swarm "
                        f"(translated: HTTP, MESOS_HTTP on port index 0, COMMAND)")
    if "port" in check:
        problems.append(f"{where}.port: a fixed health check port is not translated (port index 0 is)")
    if check.get("ipProtocol", "IPv4") != "IPv4":
        problems.append(f"{where}.ipProtocol: {check['ipProtocol']}; only IPv4 is translated")
    for field in ("intervalSeconds", "timeoutSeconds", "maxConsecutiveFailures"):
        if check[field] <= 0:  # Docker reads 0 as "the default", not as Marathon's meaning
            problems.append(f"{where}.{field}: {check[field]}; Swarm needs more than 0")
    if len(problems) > found:
        return None, MONITOR_WITHOUT_HEALTHCHECK_S
    start_period = check["delaySeconds"] + check["gracePeriodSeconds"]
    healthcheck = {"test": test, "interval": f"{check['intervalSeconds']}s", "timeout": f"{check['timeoutSeconds']}s",
                   "retries": check["maxConsecutiveFailures"], "start_period": f"{start_period}s"}
    # Swarm counts a task as running only once its check has passed (the engine's container
    # controller waits for "healthy"), so the update watches a healthy task for as long as
    # the check needs to call it unhealthy again, plus a margin
    return healthcheck, check["intervalSeconds"] * check["maxConsecutiveFailures"] + 10


def _placement(d: dict, fixed_port: bool, problems: list[str]) -> tuple[dict, str | None]:
    """Returns (the placement, why at most one task per node: None when not)."""
    constraints, one_per_node = [], None
    for i, constraint in enumerate(d.get("constraints") or []):
        field, operator, value = (list(constraint) + [None])[:3]
        if field == "hostname" and operator == "UNIQUE":
            one_per_node = "hostname UNIQUE"
        elif operator in ("CLUSTER", "IS") and value is not None:
            node = "node.hostname" if field == "hostname" else f"node.labels.{field}"
            constraints.append(f"{node} == {value}")
        else:
            problems.append(f"constraints[{i}]: {' '.join(str(c) for c in constraint)} is not expressible on Swarm "
                            f"(translated: hostname UNIQUE, hostname/attribute CLUSTER or IS with a value)")
    if fixed_port and not one_per_node:
        # Marathon gets the port from each agent's offer, once; on the host network
        # two tasks on one node would both bind it.
        one_per_node = f"the fixed port {d['portDefinitions'][0]['port']}"
    placement = {}
    if constraints:
        placement["constraints"] = constraints
    if one_per_node:
        placement["max_replicas_per_node"] = 1
    return placement, one_per_node


def _upgrade(d: dict, n: int, monitor: int, one_per_node: str | None,
             problems: list[str]) -> tuple[dict, dict]:
    """Marathon's upgrade strategy as Swarm's rolling update: with over-capacity, new
    tasks start first; without, old ones stop first, as many as minimumHealthCapacity
    allows. A task counts as updated once healthy and then watched for `monitor`."""
    strategy = {**UPGRADE_DEFAULTS, **(d.get("upgradeStrategy") or {})}
    m, o = strategy["minimumHealthCapacity"], strategy["maximumOverCapacity"]
    if o > 0:
        order, parallelism = "start-first", max(1, math.floor(round(o * n, 6)))
        if one_per_node:
            problems.append(f"upgradeStrategy.maximumOverCapacity: {o:g} with {one_per_node}: start-first cannot "
                            f"start a second task on the node the first holds (set maximumOverCapacity 0)")
    else:
        order, parallelism = "stop-first", max(1, n - math.ceil(round(m * n, 6)))
        if m == 1:
            problems.append("upgradeStrategy: minimumHealthCapacity 1 with maximumOverCapacity 0 leaves no room "
                            "for a rolling update (Marathon would stall too)")
    update = {"parallelism": parallelism, "order": order, "failure_action": "rollback",
              "monitor": f"{monitor}s", "max_failure_ratio": 0}
    rollback = {"parallelism": parallelism, "order": order, "failure_action": "pause"}
    return update, rollback


def _number(value: float) -> str:
    """1 -> "1", 0.5 -> "0.5", 1536 -> "1536" (never an exponent)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
