"""The platform on this machine's one local node, "bigdata": what `./bigdata up`,
`status`, `logs` and `down` act on. The node is a systemd container from the host
image, provisioned by the same inventory and deploys as any other host."""
import json
import ipaddress
import os
import re
import secrets as random_source
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from ctl import ROOT, health, hosts, images, prereqs
from ctl.console import Exit, Progress, fail, run, say, step
from ctl.provision import LOGS, load_inventory, run_deploy
from shared import secrets
from deploys.inventory import collect, inventory_groups
from deploys import cassandra, spark
from deploys.cassandra import backup as cassandra_backup
from deploys.tls import pki
from marathon.apps import SERVICES
from shared.names import KEYSPACE

INVENTORY = "inventories/bigdata.py"
# BIGDATA_LOCAL_PREFIX renames the node, its network and its owner label, so that a
# second platform (the end-to-end test's) never touches a user's own
PREFIX = os.environ.get(hosts.PREFIX_ENV, "")
OWNER = f"{PREFIX}up"
NETWORK = f"{PREFIX}bigdata-net"
# component -> its systemd unit on the node
UNITS = {"zookeeper": "zookeeper", "kafka": "kafka", "cassandra": "cassandra", "redis": "redis-server",
         "spark-master": "spark-master", "spark-worker": "spark-worker"}
# the pipeline's apps (marathon/apps) run on the node's one-node swarm, services <stack>_<app>
APPS = SERVICES
# `./bigdata scale` remembers its counts here (untracked, beside secrets.env): `up` keeps them
SCALE_FILE = ROOT / "inventories" / "scale.json"
MIN_MEMORY_GIB = 6
MIN_DISK_GIB = 10
# The dashboard listens on 8050 on the node (services/dashboard); this machine
# publishes it on BIGDATA_DASHBOARD_PORT (by default the same port).
DASHBOARD_NODE_PORT = 8050
DASHBOARD_PORT_ENV = "BIGDATA_DASHBOARD_PORT"
# ... on this address only: loopback unless asked otherwise (e.g. 0.0.0.0: every interface)
DASHBOARD_ADDRESS_ENV = "BIGDATA_DASHBOARD_ADDRESS"


def node() -> str:
    """The node's container (the inventory's one host; known without reading its secrets)."""
    return f"{PREFIX}{hosts.LOCAL_NODE}"


def dashboard_address() -> str:
    value = os.environ.get(DASHBOARD_ADDRESS_ENV) or "127.0.0.1"
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        fail(f"{DASHBOARD_ADDRESS_ENV}={value!r} is not an IP address of this machine: e.g. 127.0.0.1 (the default) "
             f"or 0.0.0.0 (every interface)", Exit.SETTINGS)


def dashboard_port() -> int:
    value = os.environ.get(DASHBOARD_PORT_ENV) or str(DASHBOARD_NODE_PORT)
    if not value.isdigit() or not 0 < int(value) < 65536:
        fail(f"{DASHBOARD_PORT_ENV}={value!r} is not a port number: give one between 1 and 65535", Exit.SETTINGS)
    return int(value)


def preflight() -> None:
    """Stop early, saying what to do, when this machine cannot hold the platform."""
    dashboard_address()
    if not prereqs.docker_answers():
        fail(prereqs.docker_permission_problem() or "the Docker engine does not answer: `./bigdata prereqs` "
             f"starts it (its log: {prereqs.DOCKERD_LOG}, or `journalctl -u docker`)", Exit.PREREQUISITE)
    running = _running(node())
    available = _meminfo_gib("MemAvailable")
    if available < MIN_MEMORY_GIB and not running:
        fail(f"only {available:.1f} GiB of memory is available; the platform needs {MIN_MEMORY_GIB} GiB: "
             f"stop other workloads or use a bigger machine", Exit.MACHINE)
    docker_root = _docker_root()
    free = _disk_free_gib(docker_root)
    if free < MIN_DISK_GIB:
        fail(f"only {free:.1f} GiB free under {docker_root}; the platform needs {MIN_DISK_GIB} GiB: "
             f"free some space (`docker system prune` removes unused images and containers) or move "
             f"Docker's data root to a bigger disk", Exit.MACHINE)
    port = dashboard_port()
    if not running and _port_busy(port):  # a running node holds the port itself
        fail(f"port {port}, where the dashboard is to be published, is in use by {_port_holder(port)}: "
             f"stop that, or publish the dashboard on another port, e.g. "
             f"`{DASHBOARD_PORT_ENV}={_free_port_after(port)} ./bigdata up`", Exit.MACHINE)


def ensure_secrets() -> None:
    """Real secrets for the local platform, made once into the untracked inventories/secrets.env."""
    missing = [name for name in secrets.NAMES if not secrets.secret(name)]
    if not missing:
        return
    path = secrets.secrets_file()
    path.touch(mode=0o600)
    with path.open("a") as out:
        for name in missing:
            out.write(f"{name}={random_source.token_urlsafe(24)}\n")
    say(f"generated {', '.join(missing)} into {path} (mode 0600, untracked)")


def ensure_ca() -> None:
    """The local platform's certificate authority, made once into the untracked
    inventories/ca/ (or BIGDATA_CA_DIR): ca.crt, and ca.key readable by its owner only."""
    directory = secrets.ca_dir()
    present = [name for name in (pki.CA_CERT, pki.CA_KEY) if (directory / name).exists()]
    if len(present) == 2:
        return
    if present:  # never replace half a CA: the hosts' certificates were issued by it
        fail(f"{directory / present[0]} is there without its {'key' if present[0] == pki.CA_CERT else 'certificate'}: "
             f"restore it, or remove {directory} for a new CA (every host then gets a new certificate)",
             Exit.SETTINGS)
    pki.write_ca(pki.create_ca(f"bigdata platform CA ({OWNER})"), directory)
    say(f"generated the platform's CA into {directory} ({pki.CA_KEY} mode 0600, untracked)")


def up(prepare) -> int:
    """The node, the platform and the pipeline; the dashboard's URL. `prepare` makes
    this machine ready (images, mirror) once the checks have passed."""
    ensure_secrets()  # first: everything after reads the inventory, which needs them
    ensure_ca()
    prereqs.ensure_docker()
    preflight()
    prepare()
    name = node()
    if not _running(name):
        if _exists(name):
            run("docker", "start", name, quiet=True)
            hosts.wait_booted(name)
        else:
            with step(f"starting the {name} node"):
                hosts.start([name], image=images.host_image(), network=NETWORK, owner=OWNER,
                            publish=[f"{dashboard_address()}:{dashboard_port()}:{DASHBOARD_NODE_PORT}"])
    provision()
    return status()


def provision() -> None:
    """The platform's deploy, then the pipeline's images and apps, then the dashboard seen from
    this machine: what `up` runs on its node and the Vagrantfile on its machine (with
    BIGDATA_CONNECTOR=vagrant). BIGDATA_COMPONENTS limits the platform deploy and skips the apps."""
    _deploy("deploys/site.py", f"{PREFIX}up", "deploying the platform")
    if os.environ.get("BIGDATA_COMPONENTS"):
        say("BIGDATA_COMPONENTS is set: the pipeline's apps are left as they are")
        return
    tags = images.pipeline_images()
    _deploy("deploys/apps.py", f"{PREFIX}up-pipeline", "starting the pipeline's apps on Swarm",
            pipeline_image_tags=json.dumps(tags), pipeline_scale=json.dumps(scaled()))
    url = dashboard_url()
    with step(f"waiting for the dashboard at {url}"):
        deadline = time.monotonic() + 120
        while not _answers(f"{url}health"):
            if time.monotonic() > deadline:
                fail(f"the dashboard does not answer at {url}: `./bigdata logs dashboard` says why", Exit.FAILED)
            time.sleep(2)


def _deploy(deploy: str, log_name: str, what: str, **data) -> None:
    log = LOGS / f"{log_name}.log"
    with step(f"{what} (log: {log})"):
        progress = Progress(first="connecting, planning (gathering facts)")
        result = run_deploy(INVENTORY, deploy, prefix=PREFIX, data=data, log_name=log_name, progress=progress)
    if result.returncode:
        fail(f"{deploy} failed ({result.errors} operation(s) failed); the end of its log ({result.log}):\n"
             f"{result.output[-3000:]}", Exit.FAILED)
    say(f"{deploy}: {result.changed} operation(s) changed something")


def dashboard_url() -> str:
    """Where this machine reaches the dashboard: the address and port the node publishes it on
    (chosen when it was made), else BIGDATA_DASHBOARD_PORT (the Vagrant machine forwards that one)."""
    address, port = published(node()) or ("127.0.0.1", dashboard_port())
    host = "localhost" if address in ("127.0.0.1", "0.0.0.0") else address
    return f"http://{host}:{port}/"


def published(name: str) -> tuple[str, int] | None:
    """The address and port this machine publishes the node's dashboard on, if the node is a container that does."""
    ports = subprocess.run(["docker", "port", name, f"{DASHBOARD_NODE_PORT}/tcp"], capture_output=True,
                           text=True).stdout.split()
    if not ports:
        return None
    address, _, port = ports[0].rpartition(":")
    return address.strip("[]"), int(port)


def published_port(name: str) -> int | None:
    """The port this machine publishes the node's dashboard on, if the node is a container that does."""
    found = published(name)
    return found[1] if found else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def status() -> int:
    """What each component and pipeline app really answers, a line each; exit 1 naming
    whatever is not healthy, 7 when the node is not running."""
    name = node()
    if not _running(name):
        say(f"the {name} node is not running: `./bigdata up` starts it")
        return Exit.NOT_UP
    address = hosts.ip_address(name)
    say(f"node {name} at {address}")
    values = node_values()
    checks = health.component_checks(values, name, address)
    results = health.component_health(name, checks) + health.app_health(name, stack(values), APPS)
    for result in results:
        print(f"    {result.what:<18} {'ok' if result.healthy else 'FAILING':<8} {result.detail}", flush=True)
    print(f"    Spark master UI: http://{address}:8080/ (send its token: `docker exec {name} cat {spark.UI_TOKEN}` "
          f"as Authorization: Bearer)")
    port = published_port(name)  # the port the node publishes, whatever BIGDATA_DASHBOARD_PORT says now
    if port:
        print(f"\n    the dashboard: http://localhost:{port}/\n")
    failing = [result.what for result in results if not result.healthy]
    if failing:
        say(f"not healthy: {', '.join(failing)} (`./bigdata logs <name>` shows why)")
        return Exit.UNHEALTHY
    return Exit.OK


def stack(values: dict | None = None) -> str:
    """The Swarm stack the apps form (services <stack>_<app>); values: the node's inventory
    data, when the caller has read it already."""
    from deploys.pipeline import Settings
    return Settings.from_values(node_values() if values is None else values).pipeline_stack


def scaled() -> dict[str, int]:
    """app -> replicas, as `./bigdata scale` last set them."""
    try:
        return json.loads(SCALE_FILE.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        fail(f"{SCALE_FILE} is not JSON: remove it (the definitions' instances apply again)", Exit.SETTINGS)


def scale(requests: list[str]) -> int:
    """Each `app=n`: the app's replicas on the node's swarm, at once (Swarm starts or stops
    tasks), and remembered for the next `up`."""
    wanted = {}
    for request in requests:
        app, _, count = request.partition("=")
        if app not in APPS or not count.isdigit():
            fail(f"{request!r}: give app=replicas, e.g. storage-writer=3; apps: {', '.join(APPS)}", Exit.USAGE)
        wanted[app] = int(count)
    name = node()
    if not _running(name):
        fail(f"the {name} node is not running: `./bigdata up` starts it", Exit.NOT_UP)
    services = [f"{stack()}_{app}={count}" for app, count in wanted.items()]
    with step(f"scaling {', '.join(services)} (Swarm waits until the replicas run healthy)"):
        done = run("docker", "exec", name, "docker", "service", "scale", "--detach=false", *services,
                   quiet=True, check=False)
    if done.returncode:
        fail(f"docker service scale failed: {(done.stdout + done.stderr).strip()[-1500:]}", Exit.FAILED)
    SCALE_FILE.write_text(json.dumps({**scaled(), **wanted}, indent=2, sort_keys=True) + "\n")
    say(f"remembered in {SCALE_FILE} for the next `up`")
    return status()


def node_values() -> dict:
    """The node's inventory data, merged as the deploys read it."""
    namespace = load_inventory(INVENTORY, PREFIX)
    (values,) = [h.values for h in collect(str(ROOT / INVENTORY), inventory_groups(namespace))]
    return values


def logs(what: str, follow: bool = False, lines: int = 200) -> int:
    """The journal of a component (its unit), or the log of a pipeline app (every replica's, from Swarm)."""
    if what not in UNITS and what not in APPS:
        fail(f"unknown component or app {what!r}; one of: {', '.join([*UNITS, *APPS])}", Exit.USAGE)
    _must_run()
    name = node()
    tty = ["-t"] if follow and os.isatty(1) else []  # a terminal's Ctrl-C then ends the follower too
    if what in UNITS:
        command = ["docker", "exec", *tty, name, "journalctl", "-u", UNITS[what], "-n", str(lines), "--no-pager"]
    else:
        command = ["docker", "exec", *tty, name, "docker", "service", "logs", "--no-task-ids", "--tail", str(lines),
                   f"{stack()}_{what}"]
    os.execvp("docker", command + (["--follow"] if follow else []))  # docker's output and exit code, unbuffered


def backup() -> int:
    """A backup of the pipeline's keyspace from the node (deploys/backup.py); where it went."""
    _must_run()
    name = os.environ.setdefault("BIGDATA_BACKUP", cassandra_backup.new_name())
    _deploy("deploys/backup.py", f"{PREFIX}backup", f"backing up keyspace {KEYSPACE} as {name}")
    say(f"backup {name}: {Path(_cassandra().cassandra_backup_dir) / name}")
    return Exit.OK


def restore(name: str) -> int:
    """A backup's rows loaded into the node's keyspace (deploys/restore.py)."""
    _must_run()
    directory = Path(_cassandra().cassandra_backup_dir)
    if not (directory / name).is_dir():
        known = sorted(p.name for p in directory.glob("*T*Z")) if directory.is_dir() else []
        fail(f"no backup {name!r} in {directory}; its backups: {', '.join(known) or 'none yet (`./bigdata backup`)'}",
             Exit.USAGE)
    os.environ["BIGDATA_BACKUP"] = name
    _deploy("deploys/restore.py", f"{PREFIX}restore", f"restoring backup {name} into keyspace {KEYSPACE}")
    return Exit.OK


def _cassandra() -> cassandra.Settings:
    return cassandra.Settings.from_values(node_values())


def _must_run() -> None:
    if not _running(node()):
        fail(f"the {node()} node is not running: `./bigdata up` starts it", Exit.NOT_UP)


def down() -> None:
    """Remove the node, its network and its volumes: everything `up` made, nothing else."""
    with step("removing the local platform"):
        hosts.remove(OWNER)


def _exists(name: str) -> bool:
    return subprocess.run(["docker", "inspect", name], capture_output=True).returncode == 0


def _running(name: str) -> bool:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name],
                          capture_output=True, text=True).stdout.strip() == "true"


def _docker_root() -> str:
    return run("docker", "info", "-f", "{{.DockerRootDir}}", quiet=True).stdout.strip() or "/var/lib/docker"


def _disk_free_gib(path: str) -> float:
    return shutil.disk_usage(path).free / 2**30


def _port_busy(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _port_holder(port: int) -> str:
    """Who listens on the port: a container publishing it, else the process (from ss), if known."""
    for name, ports in _container_ports():
        if re.search(rf":{port}->", ports):
            return f"the container {name} (`docker stop {name}`)"
    sockets = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True,
                             text=True).stdout if shutil.which("ss") else ""
    process = re.search(r'users:\(\("([^"]+)",pid=(\d+)', sockets)
    return f"the process {process[1]} (pid {process[2]})" if process else "another process"


def _container_ports() -> list[tuple[str, str]]:
    """(name, published ports) of each running container."""
    listing = run("docker", "ps", "--format", "{{.Names}}\t{{.Ports}}", quiet=True).stdout
    return [tuple(line.split("\t", 1)) for line in listing.splitlines() if "\t" in line]


def _free_port_after(port: int) -> int:
    return next(candidate for candidate in range(port + 1, 65536) if not _port_busy(candidate))


def _meminfo_gib(key: str) -> float:
    for line in open("/proc/meminfo"):
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 2**20
    return 0.0
