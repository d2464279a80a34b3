"""Local hosts: systemd containers from the host image, on a private docker network.

They stand in for the "bigdata" VM and for a local cluster, and are the test rig's
hosts. Every container and network made here carries labels saying who owns it, so
that everything can be removed afterwards, even after an interrupted run.
"""
import json
import os
import subprocess
import time
from pathlib import Path

from ctl import ROOT
from ctl.console import fail, run
from shared.local_hosts import CONNECTOR_ENV, CONNECTORS, LOCAL_NODE, PREFIX_ENV, local_hosts  # noqa: F401 (ctl's own names for them)

OWNER_LABEL = "io.bigdata.owner"  # "rig:<pid>" for test runs, "up" for ./bigdata up

# What a container needs to run systemd as PID 1 here; shared with the Vagrantfile.
SYSTEMD_FLAGS = [line for line in (ROOT / "images/host/docker-run.flags").read_text().splitlines()
                 if line and not line.startswith("#")]


# FUSE, where this machine has it: the GlusterFS mount of a cluster's shared directory (deploys/glusterfs)
FUSE = ["--device=/dev/fuse"] if Path("/dev/fuse").exists() else []

def ip_address(name: str) -> str:
    """The container's address on its network (what this machine reaches it by)."""
    return run("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name,
               quiet=True).stdout.strip()


def docker_json(*args) -> list:
    out = run("docker", *args, quiet=True).stdout.strip()
    return [json.loads(line) for line in out.splitlines() if line]


def start(names: list[str], *, image: str, network: str, owner: str, publish: list[str] = ()) -> None:
    """Start systemd host containers and wait until systemd says they are up.

    publish: `HOST_PORT:CONTAINER_PORT` pairs this machine forwards (for one host only).
    """
    label = f"{OWNER_LABEL}={owner}"
    if subprocess.run(["docker", "network", "inspect", network], capture_output=True).returncode:
        run("docker", "network", "create", "--label", label, network, quiet=True)
    for name in names:
        # the host's own Docker engine (deploys/docker) keeps its layers on a volume:
        # overlay2 cannot work on the container's own overlay file system
        # (a fresh one: a volume left by a killed run holds a dead engine's state, its swarm too)
        docker_volume = f"{name}-docker"
        subprocess.run(["docker", "volume", "rm", "--force", docker_volume], capture_output=True)
        run("docker", "volume", "create", "--label", label, docker_volume, quiet=True)
        run("docker", "run", "--detach", "--name", name, "--hostname", name, "--network", network,
            "--label", label, f"--volume={docker_volume}:/var/lib/docker", *SYSTEMD_FLAGS, *FUSE,
            *[f"--publish={pair}" for pair in publish], image, quiet=True)
    for name in names:
        wait_booted(name)


def wait_booted(name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running"],
                               capture_output=True, text=True).stdout.strip()
        if state in ("running", "degraded"):
            if state == "degraded":
                failed = subprocess.run(["docker", "exec", name, "systemctl", "--failed", "--no-legend"],
                                        capture_output=True, text=True).stdout.strip()
                fail(f"host {name} booted with failed units:\n{failed}")
            return
        if time.monotonic() > deadline:
            fail(f"host {name} did not finish booting within {timeout:.0f}s (systemd says {state!r})")
        time.sleep(0.3)


def remove(owner: str) -> None:
    """Remove every container, network and volume that this owner made."""
    label = f"label={OWNER_LABEL}={owner}"
    containers = run("docker", "ps", "-aq", "--filter", label, quiet=True).stdout.split()
    if containers:
        run("docker", "rm", "--force", "--volumes", *containers, quiet=True)
    networks = run("docker", "network", "ls", "-q", "--filter", label, quiet=True).stdout.split()
    if networks:
        run("docker", "network", "rm", *networks, quiet=True)
    volumes = run("docker", "volume", "ls", "-q", "--filter", label, quiet=True).stdout.split()
    if volumes:
        run("docker", "volume", "rm", "--force", *volumes, quiet=True)


def owners() -> set[str]:
    """Owners of the containers, networks and volumes that exist now."""
    found = set()
    for kind in ("ps -a", "network ls", "volume ls"):
        out = run("docker", *kind.split(), "--format", f'{{{{.Label "{OWNER_LABEL}"}}}}', quiet=True).stdout
        found |= {line for line in out.split() if line}
    return found


def remove_orphans() -> None:
    """Remove what earlier test runs left behind when they were killed outright."""
    for owner in owners():
        kind, _, pid = owner.partition(":")
        if kind == "rig" and pid.isdigit() and not _alive(int(pid)):
            remove(owner)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
