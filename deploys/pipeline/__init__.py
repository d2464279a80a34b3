"""The pipeline's apps, from their one description (marathon/apps/*.json):

- an inventory with a `marathon` group: submitted to Marathon (marathon/submit.py),
  once, from the control machine;
- else, on the hosts of the `pipeline` group (the one-node default): each app runs as
  Docker containers under systemd, one unit per instance (`bigdata-app-<app>@<n>`)
  whose ExecStart is app_runner.py (shipped beside the definition), honouring the
  definition's image, args, env, cpus/mem, volumes, labels, ports, instances, health
  checks, backoff and kill grace period.

Both paths prepare the definitions the same way (`prepare`): the built images' tags,
the site env computed once from the inventory (`site_env`: where Kafka, Cassandra,
Redis and the Spark master are), scaling, and the secrets each app's `secrets` names.

Locally, a changed definition, secret or image is rolled out one instance at a time,
each waiting until healthy; if one never becomes healthy, the app goes back to its
previous definition and image and the deploy fails naming the app and its health
check. Images reach a host only when its copy differs (`docker save` to a cache on
the control machine, upload, `docker load`).
"""
import hashlib
import json
import subprocess
from io import StringIO
from pathlib import Path

from pydantic import model_validator
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, python, server, systemd

from ctl import CACHE
from deploys.cassandra import Settings as CassandraSettings
from deploys.common import Settings as CommonSettings
from deploys.docker import install_docker
from deploys.kafka import Settings as KafkaSettings
from deploys.marathon import Settings as MarathonSettings
from deploys.pipeline import app_runner
from deploys.redis import Settings as RedisSettings
from deploys.secrets import secret
from deploys.settings import ComponentSettings
from deploys.spark import Settings as SparkSettings
from deploys.topology import address, members
from marathon import apps as app_defs
from marathon.apps import App
from marathon.schema import AppDefinitionError
from marathon.submit import prepare_apps

HERE = Path(__file__).resolve().parent
RUNNER = "/usr/local/lib/bigdata/app_runner.py"
UPLOADS = "/var/tmp/bigdata-images"


class Settings(ComponentSettings):
    groups = ("pipeline", "marathon")

    # where the definitions are read; tests point it at their own
    pipeline_apps_dir: str = str(app_defs.APPS_DIR)
    # repository -> tag of the images to run (./bigdata up passes what it built:
    # ctl.images.pipeline_images()); a repository not named keeps the definition's tag
    pipeline_image_tags: dict[str, str] = {}
    # app name -> instances, over the definitions' (like `python -m marathon.submit --scale`)
    pipeline_scale: dict[str, int] = {}
    # where the one-node runtime assigns a port 0 (Mesos agents offer 31000-32000)
    pipeline_port_range: tuple[int, int] = (31000, 32000)
    # `docker save` tarballs on the control machine, one per image id
    pipeline_image_cache: str = str(CACHE / "images")

    @model_validator(mode="after")
    def _check(self):
        low, high = self.pipeline_port_range
        if not 1024 <= low < high <= 65535:
            raise ValueError(f"pipeline_port_range: {low}-{high} is not a range of unprivileged ports")
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


# --- the one-node runtime -----------------------------------------------------------
def assign_ports(apps: list[App], port_range: tuple[int, int]) -> dict[str, dict[str, list[int]]]:
    """app name -> instance -> its ports: a definition's fixed port as it is; a port 0
    from the range, derived from app id, instance and index (probing past a taken one),
    so that an instance keeps its port from run to run."""
    low, high = port_range
    used = {d["port"] for a in apps for d in a.definition.get("portDefinitions", []) if d.get("port")}
    assigned = {}
    for app in sorted(apps, key=lambda a: a.id):
        definitions = app.definition.get("portDefinitions", [])
        instances = app.definition.get("instances", 1)
        if instances > 1 and any(d.get("port") for d in definitions):
            raise DeployError(f"pipeline apps: {app.label}: {instances} instances of a fixed port "
                              f"({[d['port'] for d in definitions if d.get('port')]}) cannot share one host")
        assigned[app.name] = {}
        for instance in range(1, instances + 1):
            ports = []
            for index, definition in enumerate(definitions):
                port = definition.get("port") or 0
                if not port:
                    seed = hashlib.sha256(f"{app.id}#{instance}#{index}".encode()).digest()
                    port = low + int.from_bytes(seed[:4], "big") % (high - low)
                    while port in used:
                        port = low + (port - low + 1) % (high - low)
                    used.add(port)
                ports.append(port)
            assigned[app.name][str(instance)] = ports
    return assigned


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


def _start_timeout(definition: dict) -> int:
    """How long systemd waits for an instance's first healthy answer: after that the
    runner has given up anyway (grace, then the allowed failures); a margin beyond."""
    return max([c.get("delaySeconds", 0) + c.get("gracePeriodSeconds", 300)
                + (c.get("intervalSeconds", 60) + c.get("timeoutSeconds", 20)) * (c.get("maxConsecutiveFailures", 3) + 1)
                for c in definition.get("healthChecks", [])], default=0) + 60


def _app_files(app: App, ports: dict[str, list[int]]) -> dict[str, bytes]:
    """What the host gets for an app: the definition (secrets as references), its
    secrets' values (KEY=value, for docker --env-file) and its instances' ports."""
    values = app_defs.inline_secrets(app, lookup_secret).definition["env"]
    return {
        "json": (json.dumps(app.definition, indent=2, sort_keys=True) + "\n").encode(),
        "env": "".join(f"{key}={values[key]}\n" for key in sorted(app_defs.secret_sources(app))).encode(),
        "ports": (json.dumps(ports, sort_keys=True) + "\n").encode(),
    }


def _run_locally(settings: Settings) -> None:
    apps = prepare(settings, inline_secrets=False)
    ports = assign_ports(apps, settings.pipeline_port_range)
    app_files = {}
    for app in apps:  # every problem found before anything changes on the host
        try:
            app_files[app.name] = _app_files(app, ports[app.name])
        except AppDefinitionError as error:
            raise DeployError(f"pipeline apps: {error}") from None
    images = {app.definition["container"]["docker"]["image"] for app in apps}
    image_ids = {reference: _local_image_id(reference) for reference in sorted(images)}

    if "docker" not in host.groups:
        raise DeployError(f"pipeline apps: {host.name} runs apps as containers: put it in the docker group too")
    # the common base (deploys/common) refreshes apt's cache; a host that only runs apps may lack it
    apt.update(name="Refresh the apt cache", cache_time=_setting(host, CommonSettings, "apt_cache_seconds"))
    install_docker()
    for reference, image_id in image_ids.items():
        _ship_image(reference, image_id, Path(settings.pipeline_image_cache).expanduser())
    files.directory(name="Directory for the runner", path=str(Path(RUNNER).parent))
    files.put(name="Install the app runner", src=str(HERE / "app_runner.py"), dest=RUNNER, mode="0755")
    files.directory(name="Directory for the app definitions", path=str(app_runner.DESIRED), mode="0750")

    on_host = (host.get_fact(Command, command=f"ls {app_runner.DESIRED} 2>/dev/null || true") or "").split()
    for gone in sorted({f.removesuffix(".json") for f in on_host if f.endswith(".json")} - set(app_files)):
        server.shell(name=f"Stop app {gone} (no longer defined)", commands=[f"{RUNNER} remove {gone}"])
        for path in [f"{app_runner.DESIRED}/{gone}.{part}" for part in app_runner.PARTS] + \
                [f"/etc/systemd/system/bigdata-app-{gone}@.service"]:
            files.file(name=f"Remove {path}", path=path, present=False)

    for app in apps:
        name, definition, content = app.name, app.definition, app_files[app.name]
        for part, mode in (("json", "0644"), ("env", "0600"), ("ports", "0644")):
            files.put(name=f"{app.id}: {part}", src=StringIO(content[part].decode()),
                      dest=f"{app_runner.DESIRED}/{name}.{part}", mode=mode)
        unit = files.template(name=f"{app.id}: systemd unit", src=str(HERE / "templates/app.service.j2"),
                              dest=f"/etc/systemd/system/bigdata-app-{name}@.service", app_name=name,
                              app=definition, runner=RUNNER, start_timeout=_start_timeout(definition))
        systemd.daemon_reload(name=f"{app.id}: reload systemd", _if=unit.did_change)
        state = host.get_fact(Command, command=f"{RUNNER} status {name} 2>/dev/null || true") or ""
        state = json.loads(state) if state.startswith("{") else {}
        wanted = list(range(1, definition.get("instances", 1) + 1))
        desired = app_runner.fingerprint(content, image_ids[definition["container"]["docker"]["image"]])
        if state.get("fingerprint") != desired or state.get("instances") != wanted or state.get("active") != wanted:
            server.shell(name=f"{app.id}: roll out {len(wanted)} instance(s), one at a time, each until healthy",
                         commands=[f"{RUNNER} apply {name}"])


@deploy("Pipeline apps", data_defaults=Settings.defaults())
def install_pipeline():
    """Run every app of marathon/apps: on Marathon if the inventory has one, else on
    the `pipeline` hosts as containers under systemd.

    Args (inventory data or --data, defaults in `Settings`):
        pipeline_image_tags: {"bigdata/pipeline": TAG, ...}, the images to run
        pipeline_scale: {"storage-writer": 3, ...}
        pipeline_apps_dir, pipeline_port_range, pipeline_image_cache
    """
    settings = Settings.from_host(host)
    if members("marathon"):
        if host.name == members("marathon")[0].name:
            _submit_to_marathon(settings)
    elif "pipeline" in host.groups:
        _run_locally(settings)
