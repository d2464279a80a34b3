"""Apache Mesos: masters elected through ZooKeeper, agents running Docker containers.

Apache Mesos is retired (Apache Attic, 2025; final release 1.11.0). Its packages
come from a Debian repository that is a setting: by default AVENTER's, which
maintains Debian packages of Mesos 1.11 (`aventer-mesos`) and Marathon; an
air-gapped site points `mesos_apt_repository` and `mesos_apt_key_url` at its own
mirror of it (or at a key file on the control machine).

- **Masters** (group `mesos_master`): `mesos-master` with `--zk
  zk://mesos:<password>@<every zookeeper host>:2181/mesos` (its own ZooKeeper user,
  deploys/zookeeper/acls.py; the env files are root only) and `--quorum` = floor(masters/2)+1, so a
  majority of masters must agree on the replicated log; one is elected leader.
- **Agents** (group `mesos_agent`): `mesos-agent --master zk://.../mesos
  --containerizers=docker,mesos`, with the resources and attributes of the settings.
  The Docker containerizer needs the Docker engine on the agent: the hosts' Docker
  deploy must come before this one in deploys/site.py (the agent's unit requires
  docker.service and does not start without it).

Both run under units of this deploy (`/etc/systemd/system/mesos-{master,agent}.service`,
which take precedence over any unit the package ships) with their flags as
`MESOS_<FLAG>` variables in the packaging's own files, `/etc/default/mesos-master`
and `/etc/default/mesos-agent`. A daemon this host does not run is stopped and
disabled, in case the package started it. The deploy is ready when the master
knows a leader and the agent answers /health.
"""
from __future__ import annotations

import json
import re
from io import StringIO
from typing import Literal

from pydantic import Field, field_validator
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from deploys import aptsource
from deploys.common import open_files, template
from deploys.facts import ResolvedAddress
from deploys.health import wait_until
from deploys.settings import ComponentSettings, Port, secret
from deploys.topology import address, members
from deploys.zookeeper import acls

ATTRIBUTE = re.compile(r"^[A-Za-z0-9_.-]+$")
SECRET_PATTERN = r"^[A-Za-z0-9._~+/=-]{16,}$"
FRAMEWORK_PRINCIPAL, AGENT_PRINCIPAL = "marathon", "agent"
CREDENTIALS = "/etc/mesos/credentials.json"  # on masters: every principal and its secret (root only)
AGENT_CREDENTIAL = "/etc/mesos/agent-credential.json"  # on agents: their own (root only)


class Settings(ComponentSettings):
    # marathon hosts too: they need the Mesos library (libmesos) and the repository
    groups = ("mesos_master", "mesos_agent", "marathon")

    # --- where the packages come from ------------------------------------------------
    # AVENTER's Debian packaging of Mesos 1.11 and Marathon (one repository per release)
    mesos_apt_repository: str = "https://rpm.aventer.biz/Debian/bookworm"
    mesos_apt_suite: str = "bookworm"
    mesos_apt_component: str = "main"
    # the repository's signing key: a URL, or a file on the control machine (starts with /)
    mesos_apt_key_url: str = "https://www.aventer.biz/assets/support_aventer.asc"
    mesos_apt_key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")  # pin the key's checksum
    mesos_package: str = "aventer-mesos"
    mesos_package_version: str | None = None  # e.g. "1.11.0-0.7.1.debian12"; None: the repository's newest
    mesos_sbin_dir: str = "/usr/sbin"  # where the package puts mesos-master and mesos-agent

    # --- masters -----------------------------------------------------------------------
    mesos_master_port: Port = 5050
    mesos_cluster_name: str = Field("bigdata", pattern=r"^[A-Za-z0-9_.-]+$")
    mesos_zk_path: str = Field(acls.client("mesos").default_path, pattern=r"^/[A-Za-z0-9_./-]+$")
    # its ZooKeeper user's (masters and agents): it owns mesos_zk_path (deploys/zookeeper/acls.py)
    zookeeper_mesos_password: str = secret(acls.client("mesos").secret, pattern=acls.PASSWORD_PATTERN)
    # None: a majority of the mesos_master group, floor(n/2)+1
    mesos_quorum: int | None = Field(None, ge=1)

    # --- agents ------------------------------------------------------------------------
    mesos_agent_port: Port = 5051
    mesos_agent_containerizers: tuple[Literal["docker", "mesos"], ...] = ("docker", "mesos")
    # what the agent offers: Mesos resource names -> values; cpus, mem and disk left
    # out are detected from the host. The port range includes the dashboard's
    # well-known port (marathon/apps/dashboard.json) and Mesos' default range.
    mesos_agent_resources: dict[str, str] = {"ports": "[8050-8050, 31000-32000]"}
    # attributes Marathon constraints can use (e.g. {"rack": "r1"}); hostname is always there
    mesos_agent_attributes: dict[str, str] = {}
    mesos_agent_isolation: str = "cgroups/cpu,cgroups/mem"
    # time for the Docker executor to start (first start of an image on a slow disk)
    mesos_agent_executor_registration_timeout: str = Field("5mins", pattern=r"^\d+(ns|us|ms|secs|mins|hrs|days)$")

    # --- both ------------------------------------------------------------------------
    mesos_work_dir: str = "/var/lib/mesos"  # masters use <dir>/master, agents <dir>/agent
    mesos_log_dir: str = "/var/log/mesos"
    # the masters authenticate frameworks (Marathon, principal FRAMEWORK_PRINCIPAL) and agents
    # (AGENT_PRINCIPAL) with these secrets (CRAM-MD5), and requests that change state over HTTP
    mesos_marathon_secret: str = secret("BIGDATA_MESOS_MARATHON_SECRET", pattern=SECRET_PATTERN)
    mesos_agent_secret: str = secret("BIGDATA_MESOS_AGENT_SECRET", pattern=SECRET_PATTERN)

    @field_validator("mesos_agent_attributes", "mesos_agent_resources")
    @classmethod
    def _names_and_values(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not ATTRIBUTE.match(key) or any(c in str(item) for c in ";\n"):
                raise ValueError(f"{key}:{item}: names are letters, digits, '_.-'; values carry no ';'")
        return value

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        problems = []
        masters, agents = group_sizes.get("mesos_master", 0), group_sizes.get("mesos_agent", 0)
        zookeepers = group_sizes.get("zookeeper", 0)
        if agents and not masters:
            problems.append(("mesos_master", f"no host in group mesos_master, but {agents} mesos_agent host(s): "
                                             f"agents need masters"))
        if masters and not zookeepers:
            problems.append(("zookeeper", f"{masters} mesos_master host(s), but no host in group zookeeper: "
                                          f"masters elect their leader through ZooKeeper"))
        if masters and self.mesos_quorum is not None:
            if self.mesos_quorum > masters:
                problems.append(("mesos_quorum", f"{self.mesos_quorum}, but group mesos_master has only {masters} "
                                                 f"host(s): the replicated log could never reach its quorum"))
            elif self.mesos_quorum <= masters // 2:
                problems.append(("mesos_quorum", f"{self.mesos_quorum} of {masters} masters is no majority: two "
                                                 f"halves could each elect a leader (use {masters // 2 + 1})"))
        if "docker" not in self.mesos_agent_containerizers:
            problems.append(("mesos_agent_containerizers", "must include docker: the platform's apps are Docker "
                                                           "containers (marathon/apps)"))
        if self.mesos_master_port == self.mesos_agent_port:
            problems.append(("mesos_agent_port", f"{self.mesos_agent_port} is also mesos_master_port"))
        return problems


def quorum(settings: Settings, masters: int) -> int:
    """A majority of the masters, unless set."""
    return settings.mesos_quorum or masters // 2 + 1


def zk_url(path: str, user: str | None = None, password: str | None = None) -> str:
    """`zk://a:2181,b:2181<path>` over every host of the zookeeper group, on its plaintext
    port (neither Mesos' nor Marathon's ZooKeeper client speaks TLS); with `user`, logged
    in as that ZooKeeper user (deploys/zookeeper/acls.py): `zk://user:password@...`."""
    from deploys import zookeeper
    servers = ",".join(f"{address(m)}:{zookeeper.Settings.from_host(m).zookeeper_client_port}"
                       for m in members("zookeeper"))
    return f"zk://{f'{user}:{password}@' if user else ''}{servers}{path}"


def resources(settings: Settings) -> str:
    return ";".join(f"{name}:{value}" for name, value in settings.mesos_agent_resources.items())


def attributes(settings: Settings) -> str:
    return ";".join(f"{name}:{value}" for name, value in settings.mesos_agent_attributes.items())


def add_repository(settings: Settings) -> None:
    aptsource.add_repository("Mesos", "mesos", settings.mesos_apt_repository, settings.mesos_apt_suite,
                             settings.mesos_apt_component, settings.mesos_apt_key_url, settings.mesos_apt_key_sha256)


def package(name: str, version: str | None) -> str:
    return f"{name}={version}" if version else name


def stop_unused_daemons() -> None:
    """Stop and disable the Mesos daemons this host does not run (a package may start both)."""
    for role, group in (("master", "mesos_master"), ("agent", "mesos_agent")):
        unit = f"mesos-{role}.service"
        if group not in host.groups and unit in (host.get_fact(SystemdStatus, services=[unit]) or {}):
            systemd.service(name=f"Stop and disable {unit} (not a {group} host)", service=unit,
                            running=False, enabled=False)


@deploy("Mesos", data_defaults=Settings.defaults())
def install_mesos():
    """Install Mesos from the configured repository and run this host's master and/or agent.

    Args (inventory data, defaults in `Settings`):
        mesos_apt_repository, mesos_apt_suite, mesos_apt_component, mesos_apt_key_url, mesos_apt_key_sha256
        mesos_package, mesos_package_version, mesos_sbin_dir
        mesos_master_port, mesos_cluster_name, mesos_zk_path, mesos_quorum (None: a majority)
        mesos_agent_port, mesos_agent_containerizers, mesos_agent_resources, mesos_agent_attributes,
        mesos_agent_isolation, mesos_agent_executor_registration_timeout
        mesos_work_dir, mesos_log_dir
        mesos_marathon_secret, mesos_agent_secret: what Marathon and the agents authenticate with
    """
    settings = Settings.from_host(host)
    add_repository(settings)
    apt.packages(name=f"Install {settings.mesos_package} (Mesos)", no_recommends=True,
                 packages=[package(settings.mesos_package, settings.mesos_package_version)])
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    zk = zk_url(settings.mesos_zk_path, "mesos", settings.zookeeper_mesos_password)
    files.directory(name=f"Create {settings.mesos_log_dir}", path=settings.mesos_log_dir, mode="0755")
    common = dict(settings=settings, bind_address=bind_address, hostname=address(), zk=zk,
                  zk_shown=zk_url(settings.mesos_zk_path),
                  nofile=open_files("Mesos", 65536))

    files.directory(name="Create /etc/mesos", path="/etc/mesos", mode="0755")
    if "mesos_master" in host.groups:
        masters = len(members("mesos_master"))
        credentials = {"credentials": [{"principal": FRAMEWORK_PRINCIPAL, "secret": settings.mesos_marathon_secret},
                                       {"principal": AGENT_PRINCIPAL, "secret": settings.mesos_agent_secret}]}
        _daemon("master", dict(common, quorum=quorum(settings, masters), masters=masters,
                               work_dir=f"{settings.mesos_work_dir}/master", credentials=CREDENTIALS),
                (CREDENTIALS, credentials),
                ready=f"curl -fsS http://{bind_address}:{settings.mesos_master_port}/state | grep -q '\"leader\":'",
                ready_name="Wait until the Mesos masters have elected a leader")
    if "mesos_agent" in host.groups:
        _daemon("agent", dict(common, resources=resources(settings), attributes=attributes(settings),
                              containerizers=",".join(settings.mesos_agent_containerizers),
                              work_dir=f"{settings.mesos_work_dir}/agent", credential=AGENT_CREDENTIAL),
                (AGENT_CREDENTIAL, {"principal": AGENT_PRINCIPAL, "secret": settings.mesos_agent_secret}),
                ready=f"curl -fsS http://{bind_address}:{settings.mesos_agent_port}/health",
                ready_name="Wait until the Mesos agent answers /health")
    stop_unused_daemons()


def _daemon(role: str, context: dict, credentials: tuple[str, dict], ready: str, ready_name: str) -> None:
    settings = context["settings"]
    unit_name = f"mesos-{role}"
    files.directory(name=f"Create {context['work_dir']}", path=context["work_dir"], mode="0750")
    path, content = credentials
    secrets = files.put(name=f"The Mesos {role}'s credentials ({path}, root only)", dest=path, user="root",
                        group="root", mode="0600", src=StringIO(json.dumps(content, indent=2) + "\n"))
    config = files.template(
        name=f"Configure the Mesos {role} (/etc/default/{unit_name}: {context['zk_shown']}"
             + (f", quorum {context['quorum']} of {context['masters']}" if role == "master" else
                f", containerizers {context['containerizers']}") + ")",
        src=template(__package__, f"{unit_name}.env.j2"), dest=f"/etc/default/{unit_name}", user="root",
        group="root", mode="0600", **context)  # its ZooKeeper login: root only
    unit = files.template(
        name=f"Install the {unit_name} unit (/etc/systemd/system/{unit_name}.service)",
        src=template(__package__, f"{unit_name}.service.j2"), dest=f"/etc/systemd/system/{unit_name}.service",
        mode="0644", sbin=settings.mesos_sbin_dir, **context)
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    restart = systemd.service(name=f"Restart {unit_name} on a change", service=unit_name, running=True,
                              enabled=True, restarted=True, _if=any_changed(config, unit, secrets))
    keep = systemd.service(name=f"Keep {unit_name} enabled and running", service=unit_name, running=True,
                           enabled=True)
    wait_until(ready_name, ready, timeout=180, _if=any_changed(restart, keep))
