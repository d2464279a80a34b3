"""The platform on this machine's one local node, "bigdata": what `./bigdata up`,
`status`, `logs` and `down` act on. The node is a systemd container from the host
image, provisioned by the same inventory and deploys as any other host."""
import os
import re
import secrets as random_source
import shutil
import socket
import subprocess

from ctl import hosts, images, prereqs
from ctl.console import fail, run, say, step
from ctl.provision import containers_of, run_deploy
from deploys import secrets

INVENTORY = "inventories/bigdata.py"
OWNER = "up"
NETWORK = "bigdata-net"
# component -> its systemd unit on the node
UNITS = {"zookeeper": "zookeeper", "kafka": "kafka", "cassandra": "cassandra", "redis": "redis-server",
         "spark-master": "spark-master", "spark-worker": "spark-worker"}
MIN_MEMORY_GIB = 6
MIN_DISK_GIB = 10
# The dashboard listens on 8050 on the node (services/dashboard); this machine
# publishes it on BIGDATA_DASHBOARD_PORT (by default the same port).
DASHBOARD_NODE_PORT = 8050
DASHBOARD_PORT_ENV = "BIGDATA_DASHBOARD_PORT"


def node() -> str:
    (name,) = containers_of(INVENTORY)
    return name


def dashboard_port() -> int:
    value = os.environ.get(DASHBOARD_PORT_ENV) or str(DASHBOARD_NODE_PORT)
    if not value.isdigit() or not 0 < int(value) < 65536:
        fail(f"{DASHBOARD_PORT_ENV}={value!r} is not a port number: give one between 1 and 65535")
    return int(value)


def preflight() -> None:
    """Stop early, saying what to do, when this machine cannot hold the platform."""
    if not prereqs.docker_answers():
        fail(prereqs.docker_permission_problem() or "the Docker engine does not answer: `./bigdata prereqs` "
             f"starts it (its log: {prereqs.DOCKERD_LOG}, or `journalctl -u docker`)")
    running = _running(node())
    available = _meminfo_gib("MemAvailable")
    if available < MIN_MEMORY_GIB and not running:
        fail(f"only {available:.1f} GiB of memory is available; the platform needs {MIN_MEMORY_GIB} GiB: "
             f"stop other workloads or use a bigger machine")
    docker_root = _docker_root()
    free = _disk_free_gib(docker_root)
    if free < MIN_DISK_GIB:
        fail(f"only {free:.1f} GiB free under {docker_root}; the platform needs {MIN_DISK_GIB} GiB: "
             f"free some space (`docker system prune` removes unused images and containers) or move "
             f"Docker's data root to a bigger disk")
    port = dashboard_port()
    if not running and _port_busy(port):  # a running node holds the port itself
        fail(f"port {port}, where the dashboard is to be published, is in use by {_port_holder(port)}: "
             f"stop that, or publish the dashboard on another port, e.g. "
             f"`{DASHBOARD_PORT_ENV}={_free_port_after(port)} ./bigdata up`")


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


def up() -> None:
    preflight()
    ensure_secrets()
    name = node()
    if not _running(name):
        if _exists(name):
            run("docker", "start", name, quiet=True)
            hosts.wait_booted(name)
        else:
            with step(f"starting the {name} node"):
                hosts.start([name], image=images.host_image(), network=NETWORK, owner=OWNER,
                            publish=[f"{dashboard_port()}:{DASHBOARD_NODE_PORT}"])
    with step(f"deploying the platform to {name} (log: .run/logs/up.log)"):
        result = run_deploy(INVENTORY, log_name="up")
    if result.returncode:
        fail(f"the deploy failed; the end of its log:\n{result.output[-3000:]}")
    say(f"deploy: {result.changed} operation(s) changed something")
    status()


def status() -> int:
    """One line per component; non-zero when any is not running."""
    name = node()
    if not _running(name):
        say(f"the {name} node is not running: `./bigdata up` starts it")
        return 1
    address = run("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name,
                  quiet=True).stdout.strip()
    say(f"node {name} at {address}")
    down = 0
    for component, unit in UNITS.items():
        state = subprocess.run(["docker", "exec", name, "systemctl", "is-active", unit],
                               capture_output=True, text=True).stdout.strip()
        down += state != "active"
        print(f"    {component:<14} {state}")
    print(f"    Spark master UI: http://{address}:8080/")
    return 1 if down else 0


def logs(component: str, lines: int = 200) -> int:
    if component not in UNITS:
        fail(f"unknown component {component!r}; one of: {', '.join(UNITS)}")
    return subprocess.call(["docker", "exec", node(), "journalctl", "-u", UNITS[component], "-n", str(lines),
                            "--no-pager"])


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
