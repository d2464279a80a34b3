"""The Docker engine: what the Mesos agents' Docker containerizer and the one-node
runtime start the pipeline's containers with.

The package is Debian's `docker.io` by default; `docker_package` and, for another
source (e.g. Docker's own `docker-ce`), `docker_apt_repository` with its key are
settings. `/etc/docker/daemon.json` is written before the package is installed, so
the engine starts the first time with the platform's storage driver (overlay2) and
log limits (json-file, rotated), and it restarts only when that file changes. The
deploy is ready when `docker info` answers with that storage driver.

overlay2 cannot keep its layers on an overlay file system: where the host is itself
a container (the local hosts of ctl/hosts.py), /var/lib/docker must be a volume;
the deploy refuses, saying so, rather than let the engine fail to start.
"""
import json
from io import StringIO
from typing import Literal

from pydantic import Field
from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from deploys import aptsource
from deploys.health import wait_until
from deploys.settings import ComponentSettings

DAEMON_JSON = "/etc/docker/daemon.json"


class Settings(ComponentSettings):
    groups = ("docker",)

    # --- where the engine comes from ---------------------------------------------------
    docker_package: str = "docker.io"              # Debian's; e.g. "docker-ce" from Docker's repository
    docker_package_version: str | None = None      # e.g. "20.10.24+dfsg1-1+deb12u1"; None: the newest
    docker_apt_repository: str | None = None       # None: Debian's own archive
    docker_apt_suite: str = "bookworm"
    docker_apt_component: str = "stable"
    docker_apt_key_url: str | None = None          # the repository's key: a URL, or a file here (starts with /)
    docker_apt_key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")

    # --- daemon.json ---------------------------------------------------------------------
    docker_storage_driver: Literal["overlay2", "vfs", "btrfs", "zfs"] = "overlay2"
    docker_data_root: str = "/var/lib/docker"
    # containers' logs: json-file (what `docker logs` and Mesos' executor read), rotated
    docker_log_max_size: str = Field("10m", pattern=r"^\d+[kmg]$")
    docker_log_max_files: int = Field(3, ge=1)

    # users who may use the engine (members of the `docker` group: root-equivalent)
    docker_users: tuple[str, ...] = ()

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        if self.docker_apt_repository and not self.docker_apt_key_url:
            return [("docker_apt_key_url", f"missing: docker_apt_repository {self.docker_apt_repository} "
                                           f"needs its signing key")]
        return []


class FileSystemType(FactBase):
    """The file system a path is on (of its nearest existing parent): e.g. ext4, overlayfs."""

    def command(self, path: str) -> str:
        return f'p="{path}"; while [ ! -e "$p" ]; do p=$(dirname "$p"); done; stat -f -c %T "$p"'

    def process(self, output):
        return output[0].strip() if output else None


def daemon_config(settings: Settings) -> dict:
    return {"data-root": settings.docker_data_root,
            "storage-driver": settings.docker_storage_driver,
            "log-driver": "json-file",
            "log-opts": {"max-size": settings.docker_log_max_size, "max-file": str(settings.docker_log_max_files)}}


@deploy("Docker", data_defaults=Settings.defaults())
def install_docker():
    """Install the Docker engine with the platform's daemon.json, keep it enabled and
    running, and wait until `docker info` answers.

    Args (inventory data, defaults in `Settings`):
        docker_package, docker_package_version: the engine's package (Debian's docker.io)
        docker_apt_repository, docker_apt_suite, docker_apt_component, docker_apt_key_url,
        docker_apt_key_sha256: another package source (None: Debian's)
        docker_storage_driver, docker_data_root, docker_log_max_size, docker_log_max_files: daemon.json
        docker_users: members of the docker group
    """
    settings = Settings.from_host(host)
    file_system = host.get_fact(FileSystemType, path=settings.docker_data_root)
    if settings.docker_storage_driver == "overlay2" and file_system == "overlayfs":
        raise DeployError(
            f"{host.name}: {settings.docker_data_root} is on an overlay file system (this host is a container), "
            f"where overlay2 cannot work: mount a volume there (ctl/hosts.py does for local hosts made since; "
            f"an older one: `./bigdata down`, then `./bigdata up`), or set docker_storage_driver")

    files.directory(name="Create /etc/docker", path="/etc/docker", mode="0755")
    config = files.put(name=f"Configure the Docker engine ({DAEMON_JSON}: {settings.docker_storage_driver}, "
                            f"logs {settings.docker_log_max_files} x {settings.docker_log_max_size})",
                       src=StringIO(json.dumps(daemon_config(settings), indent=2, sort_keys=True) + "\n"),
                       dest=DAEMON_JSON, mode="0644")
    if settings.docker_apt_repository:
        aptsource.add_repository("Docker", "docker", settings.docker_apt_repository, settings.docker_apt_suite,
                                 settings.docker_apt_component, settings.docker_apt_key_url,
                                 settings.docker_apt_key_sha256)
    package = settings.docker_package + (f"={settings.docker_package_version}"
                                         if settings.docker_package_version else "")
    installed = apt.packages(name=f"Install {package} (the Docker engine)", packages=[package],
                             no_recommends=True)
    server.group(name="Create the docker group", group="docker", system=True)
    for user in settings.docker_users:
        server.user(name=f"Let {user} use the Docker engine (group docker)", user=user, groups=["docker"],
                    append=True)
    restart = systemd.service(name="Restart the Docker engine on a config change", service="docker",
                              running=True, enabled=True, restarted=True, _if=config.did_change)
    keep = systemd.service(name="Keep the Docker engine enabled and running", service="docker",
                           running=True, enabled=True)
    wait_until("Wait until the Docker engine answers with its storage driver",
               f"docker info --format '{{{{.Driver}}}}' | grep -qx {settings.docker_storage_driver}",
               timeout=90, _if=any_changed(installed, restart, keep))
