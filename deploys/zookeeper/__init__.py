"""ZooKeeper: the coordination service of Mesos and Marathon (Kafka 4 runs KRaft
and needs none). One server per host of the zookeeper group: an ensemble of three
(or five) on a cluster, a standalone server on the one-node platform.

From Apache's release layout (`apache-zookeeper-<V>-bin`: `lib/*.jar` + `conf/`),
not Debian's `zookeeper` package: that one depends on `default-jre`, a full
desktop JRE (~430 MB of X11/GTK/LLVM) next to the headless Java 17 every other
service here runs on. It runs as

    java -cp '<home>/lib/*:<home>/conf' org.apache.zookeeper.server.quorum.QuorumPeerMain <home>/conf/zoo.cfg

under systemd, as the service user. A configuration change on a running ensemble
restarts one server at a time, each until it serves again, so the ensemble keeps
its quorum. The deploy is ready when `srvr` answers with a Mode (standalone,
leader or follower).

Secured (issue 14): every session logs in (digest auth, enforced; `acls.py` holds who
owns which znode, and the root is the admin's only). With tls_enabled (deploys/tls) the
servers talk to each other over mutual TLS (sslQuorum) and clients connect over TLS on
zookeeper_secure_client_port; the plaintext client port is closed, unless the inventory
runs Mesos or Marathon, whose ZooKeeper clients speak no TLS.
"""
from io import StringIO

from pydantic import Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from deploys import common
from deploys.artifacts import install_distribution
from deploys.common import template
from deploys.facts import MemoryMb
from deploys.health import restart_and_wait, wait_until
from deploys.settings import ComponentSettings, Port, secret
from deploys.tls import CA_FILE, Settings as TlsSettings, listener_files, pem_keystore, s_client
from deploys.topology import address, members, node_id
from deploys.zookeeper import acls
from deploys.zookeeper.facts import ZookeeperAcls

UNIT = "zookeeper.service"
ADMIN_TOOL = "/usr/local/bin/zookeeper-admin"


class Settings(ComponentSettings):
    groups = ("zookeeper",)

    zookeeper_client_port: Port = 2181  # plaintext: closed with tls_enabled, unless Mesos or Marathon run
    zookeeper_secure_client_port: Port = 2281  # TLS, with tls_enabled
    zookeeper_peer_port: Port = 2888      # followers to the leader
    zookeeper_election_port: Port = 3888  # leader election
    # None: 1/16 of the host's memory within 256 MB..2 GiB (Mesos and Marathon keep little state)
    zookeeper_heap_mb: int | None = Field(None, ge=64)
    zookeeper_tick_time_ms: int = Field(2000, ge=100)
    zookeeper_init_limit_ticks: int = Field(10, ge=1)
    zookeeper_sync_limit_ticks: int = Field(5, ge=1)
    zookeeper_max_client_connections: int = Field(60, ge=0)  # per client address; 0: unlimited
    # old snapshots and transaction logs: keep this many, purge every so many hours
    zookeeper_snap_retain_count: int = Field(3, ge=3)
    zookeeper_purge_interval_hours: int = Field(24, ge=1)
    # four-letter-word commands answered on the client port
    zookeeper_4lw_commands: tuple[str, ...] = ("srvr", "ruok", "mntr")
    # the super user (the deploy, operators); each client's own user is in its settings (acls.py)
    zookeeper_admin_password: str = secret("BIGDATA_ZOOKEEPER_ADMIN_PASSWORD", pattern=acls.PASSWORD_PATTERN)

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        problems = []
        servers = group_sizes.get("zookeeper", 0)
        if servers and servers % 2 == 0:
            problems.append(("zookeeper", f"{servers} hosts: a ZooKeeper ensemble needs an odd number of servers "
                                          f"({servers} tolerate no more failures than {servers - 1}, and a split "
                                          f"in halves leaves no majority)"))
        if servers > 255:
            problems.append(("zookeeper", f"{servers} hosts: server ids (myid) go up to 255"))
        if "srvr" not in self.zookeeper_4lw_commands:
            problems.append(("zookeeper_4lw_commands", "must include srvr: the deploy's readiness check and "
                                                       "operators' tools ask it for the server's mode"))
        return problems


def heap_mb(settings: Settings, memory_mb: int | None) -> int:
    return common.heap_mb(settings.zookeeper_heap_mb, memory_mb, share=16, low=256, high=2048)


def ensemble(settings: Settings) -> list[tuple[int, str]]:
    """(server id, `host:peer:election`) for each member, ids in inventory order."""
    return [(node_id("zookeeper", m), f"{address(m)}:{settings.zookeeper_peer_port}:{settings.zookeeper_election_port}")
            for m in members("zookeeper")]


def plaintext_clients() -> bool:
    """Whether the inventory runs a client that speaks no TLS (Mesos, Marathon): the
    plaintext client port then stays open beside the TLS one."""
    return any(members(group) for each in acls.CLIENTS if not each.tls for group in each.groups)


def client_port(settings: Settings, tls: bool) -> int:
    """The port the platform's own tools (checks, zookeeper-shell) use: the TLS one when on."""
    return settings.zookeeper_secure_client_port if tls else settings.zookeeper_client_port


def present_clients() -> dict[acls.ZkClient, tuple[str, str]]:
    """The clients this inventory runs -> (their znode's path, their password), from this
    host's data (their own settings hold them; group_data/all.py gives them every host)."""
    present = {}
    for each in acls.CLIENTS:
        if any(members(group) for group in each.groups):
            password = host.data.get(each.password_setting)
            if not password:
                raise DeployError(f"{host.name}: {each.password_setting} is not set for this zookeeper host, but "
                                  f"{each.user} runs in the inventory: set it for every host ({each.secret})")
            present[each] = (host.data.get(each.path_setting) or each.default_path, password)
    return present


def serving_check(settings: Settings, ca: str | None, at: str | None = None) -> str:
    """Succeeds when the server (this host's, or the one at `at`) answers `srvr` with a
    Mode, i.e. it serves clients (standalone, or in an ensemble that has a quorum); prints
    that Mode. Over TLS, checking its certificate, when `ca` is given. The deploys wait on
    it; `./bigdata status` reports it."""
    target = at or address()
    if ca:
        ask = s_client(target, settings.zookeeper_secure_client_port, ca)
    else:
        ask = f"nc -w 5 {target} {settings.zookeeper_client_port}"
    return f"printf srvr | {ask} | grep '^Mode: '"


@deploy("ZooKeeper", data_defaults=Settings.defaults())
def install_zookeeper():
    """Install ZooKeeper, configure this host's server of the ensemble, and start it
    (or restart it, one server at a time) until it serves.

    Args (inventory data, defaults in `Settings`):
        zookeeper_client_port, zookeeper_secure_client_port, zookeeper_peer_port, zookeeper_election_port
        zookeeper_admin_password: the super user's (secret); zookeeper_<client>_password: acls.py
        tls_enabled, tls_dir (deploys/tls): clients over TLS, servers over mutual TLS
        zookeeper_heap_mb: the server's heap (None: from the host's memory)
        zookeeper_tick_time_ms, zookeeper_init_limit_ticks, zookeeper_sync_limit_ticks
        zookeeper_max_client_connections, zookeeper_snap_retain_count, zookeeper_purge_interval_hours
        zookeeper_4lw_commands: the four-letter words answered (srvr is required)
    """
    settings = Settings.from_host(host)
    base = common.Settings.from_host(host)
    user = base.service_user
    home = install_distribution("zookeeper", base.artifact_base_url, base.install_dir, user)

    dirs = {"data": f"{base.data_dir}/zookeeper/data",      # snapshots and myid
            "datalog": f"{base.data_dir}/zookeeper/datalog",  # the transaction log, apart: it is fsynced
            "logs": f"{base.log_dir}/zookeeper"}
    for path in (f"{base.data_dir}/zookeeper", *dirs.values()):
        files.directory(name=f"Create {path}", path=path, user=user, group=user, mode="0750")

    myid = files.put(name="Write this server's id (myid)", src=StringIO(f"{node_id('zookeeper')}\n"),
                     dest=f"{dirs['data']}/myid", user=user, group=user, mode="0640")
    tls = listener_files()
    port = client_port(settings, bool(tls))
    # the super user's digest is in zoo.cfg: the service group reads it, nobody else
    config = files.template(
        name="Configure ZooKeeper", src=template(__package__, "zoo.cfg.j2"), dest=f"{home}/conf/zoo.cfg",
        user="root", group=user, mode="0640", settings=settings, dirs=dirs, servers=ensemble(settings),
        plaintext=not tls or plaintext_clients(), tls=tls, keystore=tls and pem_keystore(tls, f"{home}/conf"),
        super_digest=acls.digest_id(acls.ADMIN, settings.zookeeper_admin_password))
    logging = files.template(
        name="Configure ZooKeeper's log", src=template(__package__, "logback.xml.j2"), dest=f"{home}/conf/logback.xml",
        user="root", group=user, mode="0644", dirs=dirs)
    files.template(
        name="Configure the ZooKeeper shell's log", src=template(__package__, "logback-shell.xml.j2"),
        dest=f"{home}/conf/logback-shell.xml", user="root", group=user, mode="0644")
    files.template(
        name="The ZooKeeper shell's TLS settings (client.properties)", src=template(__package__, "client.properties.j2"),
        dest=f"{home}/conf/client.properties", user="root", group=user, mode="0644", tls=tls)
    files.template(
        name="Install zookeeper-shell (the command-line client)", src=template(__package__, "zookeeper-shell.j2"),
        dest="/usr/local/bin/zookeeper-shell", mode="0755", home=home, tls=tls, address=address(), port=port)
    files.put(name="The admin's login for zookeeper-admin (root only)",
              src=StringIO(f"addauth digest {acls.ADMIN}:{settings.zookeeper_admin_password}\n"),
              dest=f"{home}/conf/admin.login", user="root", group="root", mode="0600")
    files.template(
        name="Install zookeeper-admin (the shell, logged in as the admin; root only)",
        src=template(__package__, "zookeeper-admin.j2"), dest=ADMIN_TOOL, user="root", group="root", mode="0700",
        login=f"{home}/conf/admin.login", address=address(), port=port)
    unit = files.template(
        name="Install the zookeeper unit", src=template(__package__, "zookeeper.service.j2"),
        dest=f"/etc/systemd/system/{UNIT}", mode="0644", home=home, service_user=user,
        heap_mb=heap_mb(settings, host.get_fact(MemoryMb)), dirs=dirs, nofile=common.open_files("ZooKeeper"))
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)

    changed = any_changed(myid, config, logging, unit)
    serving = serving_check(settings, tls and tls.ca)
    if host.get_fact(SystemdStatus, services=[UNIT]).get(UNIT):
        # running: restart the servers one at a time (_serial), each until it serves
        # again, so that an ensemble keeps its quorum through a configuration change
        restart_and_wait("Restart ZooKeeper on a change, one server at a time", UNIT, serving,
                         timeout=120, _if=changed)
    start = systemd.service(name="Keep ZooKeeper enabled and running", service=UNIT, running=True, enabled=True)
    # all servers of a new ensemble start together: alone, none would find a quorum
    wait_until("Wait until ZooKeeper serves (srvr answers with a Mode)", serving, timeout=120, _if=start.did_change)
    if node_id("zookeeper") == 1:  # the ensemble replicates them: set from the first server only
        set_acls(settings)


def set_acls(settings: Settings) -> None:
    """The root's ACL and each present client's znode with its ACL (acls.wanted), set where
    they differ from what ZooKeeper holds."""
    wanted = acls.wanted(settings.zookeeper_admin_password, present_clients())
    current = host.get_fact(ZookeeperAcls, tool=ADMIN_TOOL, paths=tuple(wanted))
    commands = acls.commands(wanted, current)
    if commands:
        lines = " ".join(f"'{command}'" for command in commands)
        server.shell(name=f"Set ZooKeeper's ACLs ({', '.join(wanted)})",
                     commands=[f"printf '%s\\n' {lines} | {ADMIN_TOOL} 2>&1 | "
                               f"{{ ! grep -E 'Insufficient permission|Exception|KeeperErrorCode'; }}"])


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform whose host is `name` at `ip`
    (values: its inventory data): the shell check and the environment it needs."""
    tls = TlsSettings.from_values(values)
    return serving_check(Settings.from_values(values), tls.tls_enabled and f"{tls.tls_dir}/{CA_FILE}", name), {}
