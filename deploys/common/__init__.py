"""The base every platform host needs: packages, Java, the service user, and the
kernel and limits settings that Kafka and Cassandra expect."""
import hashlib
from importlib import resources
from io import StringIO

from pydantic import Field
from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server

from deploys.facts import OpenFilesCeiling
from deploys.settings import ComponentSettings
from deploys.versions import APACHE_ARCHIVE


def template(package: str, name: str) -> str:
    """The path of a deploy package's template, templates/<name> beside its code (pass
    the package's __package__)."""
    return str(resources.files(package) / "templates" / name)


def plain_file(package: str, name: str) -> str:
    """The path of a file a deploy package puts on hosts as it is, files/<name>."""
    return str(resources.files(package) / "files" / name)


def password_digest(password: str) -> str:
    """A password as the deploys compare it without keeping it: its SHA-256, in hex."""
    return hashlib.sha256(password.encode()).hexdigest()


def password_digests(what: str, path: str, passwords: dict[str, str]):
    """A root-only file of each user's password as SHA-256 (never the password itself): the
    operation changes when a password does, so that the deploy sets it again (`did_change`)."""
    return files.put(name=f"Record {what} (SHA-256)", dest=path, user="root", group="root", mode="0600",
                     src=StringIO("".join(f"{user} {password_digest(password)}\n"
                                          for user, password in passwords.items())))


class Settings(ComponentSettings):
    service_user: str = "bigdata"
    base_packages: tuple[str, ...] = ("ca-certificates", "curl", "procps", "tar", "gzip", "netcat-openbsd", "openssl")
    java_package: str = "openjdk-17-jre-headless"
    # where Apache distributions come from: the Apache archive, a mirror URL, or a
    # directory on the control machine laid out the same way (`./bigdata mirror`)
    artifact_base_url: str = APACHE_ARCHIVE
    install_dir: str = "/opt/bigdata"  # unpacked distributions (Kafka, Cassandra, Spark)
    data_dir: str = "/var/lib/bigdata"
    log_dir: str = "/var/log/bigdata"
    # Cassandra and Kafka map many files: Cassandra's recommended values
    vm_max_map_count: int = Field(1048575, ge=65530)
    vm_swappiness: int = Field(1, ge=0, le=100)
    nofile_limit: int = Field(100000, ge=4096)
    apt_cache_seconds: int = Field(3600, ge=0)


@deploy("Common base", data_defaults=Settings.defaults())
def install_common():
    """Base packages, Java, the service user and kernel/limits settings.

    Args (inventory data, defaults in `Settings`):
        service_user: the system user every platform service runs as
        java_package: the Debian JRE package
        vm_max_map_count, vm_swappiness, nofile_limit: kernel and limits settings
    """
    settings = Settings.from_host(host)
    apt.update(name="Refresh the apt cache", cache_time=settings.apt_cache_seconds)
    apt.packages(
        name="Install base packages and Java",
        packages=[*settings.base_packages, settings.java_package],
        no_recommends=True,
    )
    server.user(
        name=f"Create the service user {settings.service_user}",
        user=settings.service_user, system=True, home=settings.data_dir,
        shell="/usr/sbin/nologin", ensure_home=False,
    )
    for path in (settings.install_dir, settings.data_dir, settings.log_dir):
        files.directory(
            name=f"Create {path}", path=path, user=settings.service_user, group=settings.service_user, mode="0755",
        )
    _kernel_settings(settings)


def _kernel_settings(settings: Settings) -> None:
    for key, value in (("vm.max_map_count", settings.vm_max_map_count), ("vm.swappiness", settings.vm_swappiness)):
        server.sysctl(name=f"Set {key}", key=key, value=value, persist=True,
                      persist_file="/etc/sysctl.d/60-bigdata.conf")
    files.template(
        name="Raise the open-files limit of the service user",
        src=template(__package__, "limits.conf.j2"), dest="/etc/security/limits.d/60-bigdata.conf",
        service_user=settings.service_user,
        nofile=open_files("the service user", note="size Kafka and Cassandra for it"),
    )


def open_files(what: str, wanted: int | None = None, note: str = "") -> int:
    """The open-files limit `what` gets on this host (a unit's LimitNOFILE, limits.conf):
    `wanted` (default: the platform's nofile_limit), unless the host caps it lower, since
    systemd would cap a higher value silently. With a `note` (what the cap means for
    `what`), a cap is warned about."""
    wanted = wanted or Settings.from_host(host).nofile_limit
    ceiling = host.get_fact(OpenFilesCeiling)
    if ceiling is None or ceiling >= wanted:
        return wanted
    if note:
        logger.warning(f"{host.name}: {what} gets {ceiling} open files, not {wanted} (the host's cap): {note}")
    return ceiling


def heap_mb(setting: int | None, memory_mb: int | None, share: int, low: int, high: int | None = None) -> int:
    """A JVM heap (or a daemon's memory) in MB: the setting, else 1/`share` of the host's
    memory (`facts.MemoryMb`) within low..high."""
    if setting:
        return setting
    part = (memory_mb or 0) // share
    return max(low, part if high is None else min(high, part))
