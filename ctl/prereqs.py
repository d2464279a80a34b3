"""What the control machine needs, installed when absent and left alone when present."""
import os
import shutil
import subprocess
import time
from pathlib import Path

from ctl.console import Exit, fail, run, say, step

DOCKERD_LOG = Path("/var/log/bigdata-dockerd.log")
DOCKER_SOCKET = Path("/var/run/docker.sock")
_apt_updated = False


def apt_install(*packages: str) -> None:
    """Install Debian packages that are not installed yet (no-op otherwise)."""
    global _apt_updated
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout != "install ok installed"]
    if not missing:
        return
    if os.geteuid() != 0:
        fail(f"these Debian packages are needed: {' '.join(missing)}; run as root or install them first",
             Exit.PREREQUISITE)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with step(f"installing Debian packages: {' '.join(missing)}"):
        if not _apt_updated:
            run("apt-get", "update", "-q", quiet=True, env=env)
            _apt_updated = True
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, quiet=True, env=env)


def docker_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def docker_permission_problem() -> str | None:
    """What to do when the engine's socket is there but this user may not use it."""
    if os.environ.get("DOCKER_HOST") or not DOCKER_SOCKET.exists() or os.access(DOCKER_SOCKET, os.R_OK | os.W_OK):
        return None
    return (f"no permission to use the Docker engine ({DOCKER_SOCKET}): run as root, or add your user to "
            f"the docker group (`sudo usermod -aG docker $USER`, then log in again)")


def ensure_docker(timeout: float = 90) -> None:
    """A running Docker engine: Debian's docker.io, started under systemd or directly."""
    if shutil.which("docker") and docker_answers():
        return
    problem = docker_permission_problem()
    if problem:  # the engine may well run: installing or starting it would not help
        fail(problem, Exit.PREREQUISITE)
    apt_install("docker.io")
    with step("starting the Docker engine"):
        if Path("/run/systemd/system").is_dir():
            run("systemctl", "start", "docker")
        else:  # no init system here (a container or sandbox): run dockerd detached
            log = DOCKERD_LOG.open("a")
            subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not docker_answers():
            if time.monotonic() > deadline:
                fail(f"the Docker engine did not answer within {timeout:.0f}s; see {DOCKERD_LOG}", Exit.PREREQUISITE)
            time.sleep(1)
    say("Docker engine is up")


def ensure_build_tools() -> None:
    """debootstrap for the base image; Maven and a JDK for the artifact mirror."""
    apt_install("debootstrap", "maven", "openjdk-17-jdk-headless")
