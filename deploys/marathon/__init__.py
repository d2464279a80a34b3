"""Marathon: the scheduler that runs the platform's apps (marathon/apps) on Mesos.

Marathon's repository was archived in 2024; AVENTER packages Marathon 1.11 for
Debian in the same repository as Mesos (deploys/mesos: its settings say where
that is). Every host of the `marathon` group runs one Marathon:

- HA through ZooKeeper: `--zk zk://<every zookeeper host>/marathon` holds its state
  and elects one leader; the others answer and proxy to it. `--master
  zk://.../mesos` finds the leading Mesos master. It logs in to ZooKeeper as its
  own user (deploys/zookeeper/acls.py), which owns /marathon and reads /mesos.
- HTTP basic auth on the REST API and UI: `marathon_http_user` and the secret
  `marathon_http_password` (BIGDATA_MARATHON_PASSWORD). The credentials live in
  `/etc/default/marathon` (root only, read by systemd), not on a command line.
  With tls_enabled, HTTPS only (marathon_https_port, the host's certificate in a
  PKCS#12 keystore; plain HTTP off).
- It registers with the Mesos masters as an authenticated framework (principal
  `marathon`, the secret mesos_marathon_secret: deploys/mesos).
- A unit of this deploy (`/etc/systemd/system/marathon.service`) runs it as the
  service user, which is also the user its tasks run as on the agents.

Ready when /v2/info answers with the credentials and refuses (401) without them.
"""
from __future__ import annotations

from io import StringIO

from pydantic import Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from deploys import common, mesos
from deploys.common import template
from deploys.facts import ResolvedAddress
from deploys.health import wait_until
from deploys.settings import ComponentSettings, Port, secret
from deploys.tls import listener_files, pkcs12_keystore
from deploys.topology import address
from deploys.zookeeper import acls
from marathon import DEFAULT_HTTP_USER

ENV_FILE = "/etc/default/marathon"
CONF_DIR = "/etc/marathon"
MESOS_SECRET = f"{CONF_DIR}/mesos-secret"
UNIT = "marathon"


class Settings(ComponentSettings):
    groups = ("marathon",)

    marathon_package: str = "marathon"
    marathon_package_version: str | None = None  # None: the repository's newest
    # the launcher the package installs (sbt-native-packager layout)
    marathon_command: str = "/usr/share/marathon/bin/marathon"
    marathon_http_port: Port = 8080  # plain HTTP: closed with tls_enabled
    marathon_https_port: Port = 8443  # HTTPS with the host's certificate, with tls_enabled
    marathon_http_user: str = Field(DEFAULT_HTTP_USER, pattern=r"^[A-Za-z0-9_.-]+$")  # no ':' (user:password)
    marathon_http_password: str = secret("BIGDATA_MARATHON_PASSWORD", min_length=16, pattern=r"^[^\s'\"\\$`]+$")
    marathon_http_realm: str = Field("bigdata", pattern=r"^[A-Za-z0-9_.-]+$")
    marathon_zk_path: str = Field(acls.client("marathon").default_path, pattern=r"^/[A-Za-z0-9_./-]+$")
    # its ZooKeeper user's: it owns marathon_zk_path and reads Mesos' (deploys/zookeeper/acls.py)
    zookeeper_marathon_password: str = secret(acls.client("marathon").secret, pattern=acls.PASSWORD_PATTERN)
    marathon_framework_name: str = Field("marathon", pattern=r"^[A-Za-z0-9_.-]+$")
    marathon_heap_mb: int = Field(512, ge=256)
    # Marathon features to enable, e.g. ("secrets",) with a secrets plugin installed
    marathon_enable_features: tuple[str, ...] = ()
    # the Mesos library Marathon loads (from the Mesos package)
    marathon_mesos_native_library: str = "/usr/lib/libmesos.so"

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        problems = []
        marathons = group_sizes.get("marathon", 0)
        if marathons and not group_sizes.get("mesos_master", 0):
            problems.append(("marathon", f"{marathons} marathon host(s), but no host in group mesos_master: "
                                         f"Marathon schedules on Mesos"))
        if marathons and not group_sizes.get("zookeeper", 0):
            problems.append(("zookeeper", f"{marathons} marathon host(s), but no host in group zookeeper: "
                                          f"Marathon keeps its state and elects its leader there"))
        return problems


def api_url(member, tls: bool) -> str:
    """Where the REST API of the Marathon on `member` (a host of group marathon) answers:
    HTTPS only with tls_enabled (its port from the host's data, else the default)."""
    key = "marathon_https_port" if tls else "marathon_http_port"
    port = member.data.get(key) or Settings.model_fields[key].default
    return f"{'https' if tls else 'http'}://{address(member)}:{port}"


@deploy("Marathon", data_defaults=Settings.defaults())
def install_marathon():
    """Install Marathon from the Mesos repository, configure HA and basic auth, and run it.

    Args (inventory data, defaults in `Settings`):
        marathon_http_password: required secret (BIGDATA_MARATHON_PASSWORD)
        marathon_http_user, marathon_http_realm, marathon_http_port, marathon_https_port
        tls_enabled (deploys/tls): HTTPS only, with the host's certificate
        mesos_marathon_secret (deploys/mesos): what it authenticates to Mesos with, as a framework
        marathon_package, marathon_package_version, marathon_command
        marathon_zk_path, marathon_framework_name, marathon_heap_mb, marathon_enable_features
        marathon_mesos_native_library
    """
    settings = Settings.from_host(host)
    mesos_settings = mesos.Settings.from_host(host)
    base = common.Settings.from_host(host)
    mesos.add_repository(mesos_settings)
    # Marathon loads libmesos from the Mesos package
    apt.packages(name=f"Install {settings.marathon_package} (Marathon) and {mesos_settings.mesos_package}",
                 no_recommends=True,
                 packages=[mesos.package(mesos_settings.mesos_package, mesos_settings.mesos_package_version),
                           mesos.package(settings.marathon_package, settings.marathon_package_version)])
    mesos.stop_unused_daemons()
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    tls = listener_files()
    files.directory(name=f"Create {CONF_DIR}", path=CONF_DIR, user="root", group=base.service_user, mode="0750")
    # what it authenticates to the Mesos masters with, as a framework (no newline: the file is the secret)
    secret_file = files.put(
        name=f"Marathon's Mesos secret ({MESOS_SECRET}, root and the service group)", dest=MESOS_SECRET,
        user="root", group=base.service_user, mode="0640", src=StringIO(mesos_settings.mesos_marathon_secret))
    context = dict(settings=settings, bind_address=bind_address, hostname=address(), tls=tls,
                   # HTTPS only, with the host's certificate (the keystore under the HTTP password)
                   keystore=tls and pkcs12_keystore(tls, CONF_DIR, settings.marathon_http_password),
                   principal=mesos.FRAMEWORK_PRINCIPAL, secret_file=MESOS_SECRET,
                   # logged in to ZooKeeper as its own user (deploys/zookeeper/acls.py)
                   master=mesos.zk_url(mesos_settings.mesos_zk_path, "marathon", settings.zookeeper_marathon_password),
                   zk=mesos.zk_url(settings.marathon_zk_path, "marathon", settings.zookeeper_marathon_password),
                   service_user=base.service_user)
    config = files.template(
        name=f"Configure Marathon ({ENV_FILE}: --master {mesos.zk_url(mesos_settings.mesos_zk_path)} "
             f"--zk {mesos.zk_url(settings.marathon_zk_path)}, basic auth)",
        src=template(__package__, "marathon.env.j2"), dest=ENV_FILE, user="root", group="root", mode="0600", **context)
    unit = files.template(
        name=f"Install the {UNIT} unit (/etc/systemd/system/{UNIT}.service)",
        src=template(__package__, "marathon.service.j2"), dest=f"/etc/systemd/system/{UNIT}.service", mode="0644",
        **context)
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    restart = systemd.service(name="Restart Marathon on a change", service=UNIT, running=True, enabled=True,
                              restarted=True, _if=any_changed(config, unit, secret_file))
    keep = systemd.service(name="Keep Marathon enabled and running", service=UNIT, running=True, enabled=True)
    info = api_url(host, bool(tls)) + "/v2/info"
    curl = f"curl --cacert {tls.ca}" if tls else "curl"
    # the credentials come from the host's own file: they stay out of the deploy's log
    wait_until(
        "Wait until Marathon answers /v2/info with the credentials and refuses it without",
        f"{curl} -fsS -o /dev/null -u \"$(sed -n 's/^MARATHON_HTTP_CREDENTIALS=//p' {ENV_FILE})\" {info} && "
        f"test \"$({curl} -s -o /dev/null -w '%{{http_code}}' {info})\" = 401",
        timeout=240, _if=any_changed(restart, keep))
