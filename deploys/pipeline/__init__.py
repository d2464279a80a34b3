"""The pipeline's apps, from their one description (marathon/apps/*.json):

- an inventory with a `marathon` group: submitted to Marathon (marathon/submit.py),
  once, from the control machine;
- else on Docker Swarm (the `swarm_manager` and `swarm_worker` hosts, deploys/swarm;
  the default, one node for `./bigdata up` and Vagrant): each definition translated
  into a Swarm service (marathon/swarm.py) of one stack (`pipeline_stack`), deployed
  with `docker stack deploy` from the first manager. Swarm then does what Marathon
  would: replicas, rolling updates that roll back by themselves when the new tasks are
  not healthy, restarts, placement, secrets.

Both paths prepare the definitions the same way (`prepare`): the built images' tags,
the site env computed once from the inventory (`site_env`: where Kafka, Cassandra,
Redis and the Spark master are), scaling, and the secrets each app's `secrets` names.

On Swarm, a secret becomes a Swarm secret named after a digest of its value (a new
value is a new secret, the old one removed once unused), mounted in the containers
that name it. Images reach every node only when its copy differs (`docker save` to a
cache on the control machine, upload, `docker load`); there is no registry. The stack
is deployed only when a service's spec (its digest, a label on the service) differs
from the one wanted, and the deploy then waits until each changed service has
converged, failing with Swarm's own words when one rolled back.
"""
import hashlib
import json
import shlex
import subprocess
import time
from io import StringIO
from pathlib import Path

from pydantic import Field, model_validator
from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.api.command import StringCommand
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import files, python, server

from shared.paths import CACHE
from deploys.cassandra import Settings as CassandraSettings
from deploys.kafka import Settings as KafkaSettings
from deploys.marathon import Settings as MarathonSettings
from deploys.redis import Settings as RedisSettings
from shared.secrets import secret
from deploys.settings import ComponentSettings
from deploys.spark import Settings as SparkSettings
from deploys.swarm import MANAGERS, WORKERS, SwarmNode, leader
from deploys.topology import address, members
from marathon import apps as app_defs
from marathon import swarm
from marathon.apps import App
from marathon.schema import AppDefinitionError
from marathon.submit import prepare_apps

UPLOADS = "/var/tmp/bigdata-images"
STACKS = "/etc/bigdata/swarm"  # the stack files, on the first manager (no secret in them)


class Settings(ComponentSettings):
    groups = (MANAGERS, WORKERS, "marathon")

    # where the definitions are read; tests point it at their own
    pipeline_apps_dir: str = str(app_defs.APPS_DIR)
    # repository -> tag of the images to run (./bigdata up passes what it built:
    # ctl.images.pipeline_images()); a repository not named keeps the definition's tag
    pipeline_image_tags: dict[str, str] = {}
    # app name -> instances, over the definitions' (like `python -m marathon.submit --scale`)
    pipeline_scale: dict[str, int] = {}
    # app name -> environment over the definition's (e.g. {"producer": {"BIGDATA_PRODUCER_RATE": "100"}})
    pipeline_env: dict[str, dict[str, str]] = {}
    # `docker save` tarballs on the control machine, one per image id
    pipeline_image_cache: str = str(CACHE / "images")
    # Swarm: the stack the apps form (services are <stack>_<app>)
    pipeline_stack: str = Field("bigdata", pattern=r"^[a-z0-9][a-z0-9-]*$")
    # Swarm: reserve each app's cpus/mem as well as limit them (the scheduler then places a
    # task only where they are free; off by default: the six apps would reserve 4.5 of one node's cores)
    pipeline_reservations: bool = False
    # Swarm: how long a rollout may take before the deploy fails (new tasks start, pass their
    # health checks, then Swarm watches them for the update's monitor period)
    pipeline_rollout_timeout_s: int = Field(900, ge=60)

    @model_validator(mode="after")
    def _check(self):
        for name, instances in self.pipeline_scale.items():
            if instances < 0:
                raise ValueError(f"pipeline_scale: {name}: {instances} instances")
        return self


# --- what every app gets, computed once from the inventory ---------------------------
def _setting(member, model, key):
    return member.data.get(key) or model.model_fields[key].default


def site_env() -> dict[str, str]:
    """Where the backends are (services/core/settings.py and services/stream_processor/
    settings.py name these): the same for every app, on Marathon and locally. A group
    the inventory lacks leaves the services' default."""
    env = {}
    if kafka := members("kafka"):
        env["BIGDATA_KAFKA_BOOTSTRAP"] = ",".join(f"{address(m)}:{_setting(m, KafkaSettings, 'kafka_port')}"
                                                  for m in kafka)
    if cassandra := members("cassandra"):
        env["BIGDATA_CASSANDRA_HOSTS"] = ",".join(address(m) for m in cassandra)
        env["BIGDATA_CASSANDRA_PORT"] = str(_setting(cassandra[0], CassandraSettings,
                                                     "cassandra_native_transport_port"))
    if redis := members("redis"):
        env["BIGDATA_REDIS_HOST"] = address(redis[0])
        env["BIGDATA_REDIS_PORT"] = str(_setting(redis[0], RedisSettings, "redis_port"))
    if spark := members("spark_master"):
        env["BIGDATA_SPARK_MASTER"] = "spark://" + ",".join(
            f"{address(m)}:{_setting(m, SparkSettings, 'spark_master_port')}" for m in spark)
    return env


def lookup_secret(source: str) -> str | None:
    """A secret's value: the host's data (group_data/all.py reads BIGDATA_X_Y into x_y
    with secret()), else the environment or inventories/secrets.env."""
    return host.data.get(source.removeprefix("BIGDATA_").lower()) or secret(source)


def load(folder: str) -> list[App]:
    """The definitions, validated (a broken one fails here, naming the app and its file)."""
    if Path(folder).resolve() == app_defs.APPS_DIR:
        return app_defs.load()
    return [app_defs.read(path) for path in sorted(Path(folder).glob("*.json"))]


def prepare(settings: Settings, *, inline_secrets: bool) -> list[App]:
    try:
        return prepare_apps(load(settings.pipeline_apps_dir), image_tags=settings.pipeline_image_tags,
                            env=site_env(), scale=settings.pipeline_scale,
                            app_env=settings.pipeline_env,
                            lookup_secret=lookup_secret if inline_secrets else None)
    except (AppDefinitionError, ValueError, KeyError) as error:
        raise DeployError(f"pipeline apps: {error}") from None


# --- the Marathon path --------------------------------------------------------------
def _submit(apps: list[App], url: str, user: str, password: str) -> None:
    from marathon.client import Marathon
    from marathon.submit import Submitter
    Submitter(Marathon(url, user=user, password=password)).submit(apps)


def _submit_to_marathon(settings: Settings) -> None:
    marathons = members("marathon")
    first = marathons[0]
    plugin = "secrets" in (first.data.get("marathon_enable_features") or ())
    apps = prepare(settings, inline_secrets=not plugin)
    url = ",".join(f"http://{address(m)}:{_setting(m, MarathonSettings, 'marathon_http_port')}" for m in marathons)
    python.call(name="Submit the apps to Marathon", function=_submit, apps=apps, url=url,
                user=_setting(first, MarathonSettings, "marathon_http_user"),
                password=first.data.get("marathon_http_password"))


# --- Docker Swarm -------------------------------------------------------------------
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


def _local_image_id(reference: str) -> str:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference],
                          capture_output=True, text=True)
    if done.returncode:
        raise DeployError(f"pipeline apps: image {reference} is not on the control machine (./bigdata images)")
    return done.stdout.strip()


def _ship_image(reference: str, image_id: str, cache: Path) -> None:
    """The image onto the host, only when the host's copy differs; tagged by the deploy,
    as `docker save` of an image with several tags may carry another one."""
    inspect = "docker image inspect --format '{{.Id}}' %s 2>/dev/null || true"
    if (host.get_fact(Command, command=inspect % reference) or "").strip() == image_id:
        return
    tag = f"docker tag {image_id} {reference}"
    if (host.get_fact(Command, command=inspect % image_id) or "").strip() == image_id:
        server.shell(name=f"Tag image {reference}", commands=[tag])
        return
    repository = reference.rsplit(":", 1)[0].replace("/", "_")
    tarball = cache / f"{repository}-{image_id.split(':')[-1][:16]}.tar"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        for older in cache.glob(f"{repository}-*.tar"):  # one tarball per repository is enough
            older.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(["docker", "save", "--output", str(partial), image_id], check=True)
        partial.rename(tarball)
    upload = f"{UPLOADS}/{tarball.name}"
    files.directory(name="Directory for image uploads", path=UPLOADS, mode="0700")
    files.put(name=f"Upload image {reference}", src=str(tarball), dest=upload, mode="0600")
    server.shell(name=f"Load image {reference}", commands=[f"docker load --input {upload}", tag, f"rm -f {upload}"])


def secret_name(stack: str, source: str, value: str) -> str:
    """A Swarm secret's name: a new value is a new secret (Swarm secrets cannot change)."""
    return f"{stack}_{source.lower()}_{hashlib.sha256(value.encode()).hexdigest()[:12]}"


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


def _remove_old_runtime() -> None:
    """What the one-node runtime of before (systemd units running containers) left on a host."""
    units = (host.get_fact(Command, command="ls /etc/systemd/system/ | grep '^bigdata-app-.*@.service$' || true")
             or "").split()
    if units:
        server.shell(name="Remove the one-node runtime's app units (the apps now run on Swarm)", commands=[
            *[f"systemctl disable --now '{unit.replace('@.service', '@*')}' || true" for unit in units],
            *[f"rm -f /etc/systemd/system/{unit}" for unit in units],
            "rm -rf /etc/bigdata/apps /usr/local/lib/bigdata/app_runner.py", "systemctl daemon-reload"])


def swarm_services(settings: Settings, apps: list[App], secrets: dict[str, str]) -> dict[str, dict]:
    users = _users(apps)
    try:
        return {app.name: swarm.service(app, secrets=secrets, user=users.get,
                                        reservations=settings.pipeline_reservations) for app in apps}
    except AppDefinitionError as error:
        raise DeployError(f"pipeline apps: {error}") from None


def _wait_for_rollout(manager, tasks: dict[str, str], timeout_s: int) -> None:
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
    deadline = time.monotonic() + timeout_s
    while True:
        ok, output = manager.run_shell_command(StringCommand(script))
        status, waiting = {}, []
        for line in output.stdout_lines if ok else []:
            if not line.startswith(" "):
                name, wanted, state = (line.split() + ["0", ""])[:3]
                status[name] = [int(wanted), state, 0]
            elif line.split() == ["running", tasks[name]]:
                status[name][2] += 1
        for name, (wanted, state, running) in status.items():
            if state in ("rollback_started", "rollback_completed", "rollback_paused", "paused"):
                done = "paused the update" if state == "paused" else "rolled it back"
                raise DeployError(f"pipeline apps: {name}: the update failed, and Swarm {done} ({state}): "
                                  f"{_update_message(manager, name)}")
            if state == "updating" or running != wanted:
                waiting.append(f"{name} ({running}/{wanted} of this version running{', updating' if state else ''})")
        if ok and not waiting and len(status) == len(tasks):
            return
        if time.monotonic() > deadline:
            raise DeployError(f"pipeline apps: not converged after {timeout_s}s: {', '.join(waiting)}; "
                              f"the tasks' last errors: {_task_errors(manager, list(tasks))}")
        time.sleep(2)


def _update_message(manager, service: str) -> str:
    _, output = manager.run_shell_command(StringCommand(
        f"docker service inspect --format '{{{{.UpdateStatus.Message}}}}' {shlex.quote(service)}"))
    return output.stdout.strip() + f"; {_task_errors(manager, [service])}"


def _task_errors(manager, services: list[str]) -> str:
    _, output = manager.run_shell_command(StringCommand(
        "for s in " + " ".join(shlex.quote(s) for s in services) + "; do docker service ps --no-trunc "
        "--format '{{.Name}} {{.CurrentState}} {{.Error}}' $s | head -3; done"))
    return "; ".join(line for line in output.stdout_lines if line.strip()) or "none recorded"


def _run_on_swarm(settings: Settings) -> None:
    apps = prepare(settings, inline_secrets=False)
    node = host.get_fact(SwarmNode)
    if node["state"] != "active":
        raise DeployError(f"pipeline apps: {host.name} is not in a swarm ({node['state']}): "
                          f"deploys/site.py makes the swarm first")
    _remove_old_runtime()
    images = {app.definition["container"]["docker"]["image"] for app in apps}
    for reference in sorted(images):
        _ship_image(reference, _local_image_id(reference), Path(settings.pipeline_image_cache).expanduser())
    for path in sorted({v["hostPath"] for app in apps for v in app.definition.get("container", {}).get("volumes", [])}):
        files.directory(name=f"Host directory {path} (an app's volume)", path=path)
    if host.name != leader().name:
        return

    stack = settings.pipeline_stack
    values = {}  # secret source -> its value, each found as Marathon's inline submission finds it
    for app in apps:
        try:
            inlined = app_defs.inline_secrets(app, lookup_secret).definition["env"]
        except AppDefinitionError as error:
            raise DeployError(f"pipeline apps: {error}") from None
        values.update({source: inlined[key] for key, source in app_defs.secret_sources(app).items()})
    secrets = {source: secret_name(stack, source, value) for source, value in values.items()}
    existing = set((host.get_fact(Command, command="docker secret ls --format '{{.Name}}' 2>/dev/null || true")
                    or "").split())
    for source, name in sorted(secrets.items()):
        if name not in existing:
            server.shell(name=f"Swarm secret {name} (from {source})",
                         commands=[f"docker secret create --label io.bigdata.stack={stack} {name} -"],
                         _stdin=values[source])

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
                    function=_wait_for_rollout, manager=host, timeout_s=settings.pipeline_rollout_timeout_s,
                    tasks={name: services[name.removeprefix(f"{stack}_")]["labels"][swarm.TASK_LABEL]
                           for name in changed})
    unused = sorted(name for name in existing if name.startswith(f"{stack}_") and name not in secrets.values())
    if unused:  # older values of the secrets, once no service uses them (a used one is refused: kept)
        server.shell(name=f"Remove {len(unused)} unused secret version(s)",
                     commands=[f"docker secret rm {name} || true" for name in unused])


@deploy("Pipeline apps", data_defaults=Settings.defaults())
def install_pipeline():
    """Run every app of marathon/apps: on Marathon if the inventory has one, else on the
    swarm of its swarm_manager and swarm_worker hosts.

    Args (inventory data or --data, defaults in `Settings`):
        pipeline_image_tags: {"bigdata/pipeline": TAG, ...}, the images to run
        pipeline_scale: {"storage-writer": 3, ...}
        pipeline_apps_dir, pipeline_image_cache, pipeline_stack, pipeline_reservations,
        pipeline_rollout_timeout_s
    """
    settings = Settings.from_host(host)
    if members("marathon"):
        if host.name == members("marathon")[0].name:
            _submit_to_marathon(settings)
    elif members(MANAGERS):
        if set(host.groups) & {MANAGERS, WORKERS}:
            _run_on_swarm(settings)
    else:
        raise DeployError("pipeline apps: the inventory has no engine to run them on: "
                          "a marathon group, or swarm_manager hosts")
