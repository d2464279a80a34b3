"""Cassandra 5 from the artifact source (the Apache archive or the project's mirror):
one ring over the `cassandra` group, password authentication with the default
superuser replaced by the inventory's, and the pipeline's keyspace and tables.
With tls_enabled (deploys/tls) clients connect over TLS only (no plaintext native
transport) and the nodes talk to each other over mutual TLS, each checking the other's
certificate against the platform's CA and its address.

The distribution has no scripts this deploy relies on: systemd runs the daemon
with a java @argument file (`jvm-server.options`), `nodetool` is a small wrapper
around the same jars, and `cassandra-cql` (Debian's python3-cassandra) is the CQL
client the deploy and operators use on the hosts.

Order on a cluster: every node is configured in parallel; nodes then start (or
restart after a config change: `nodetool drain` first) one at a time, each waiting
until it is UN and a CQL login works; the first node then replaces the superuser,
sets system_auth's replication (repaired on every node) and applies the schema.
Facts decide what still needs doing, so a second run changes nothing.
"""
from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pyinfra import host
from pyinfra.api import FactBase, HiddenValue, QuoteString, StringCommand, deploy
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from deploys import common
from deploys.artifacts import install_distribution
from deploys.cassandra.roles import ROLES
from deploys.common import plain_file, template
from deploys.facts import MemoryMb, ResolvedAddress
from deploys.health import restart_and_wait
from deploys.settings import ComponentSettings, Port, secret
from deploys.tls import listener_files, pem_keystore
from deploys.topology import address, members
from deploys.versions import CASSANDRA_VERSION
from shared.names import KEYSPACE

SCHEMA = Path(__file__).resolve().parents[2] / "services" / "core" / "schema.cql"

CONF_DIR = "/etc/bigdata/cassandra"
CREDENTIALS = f"{CONF_DIR}/credentials"
CLIENT = "/usr/local/bin/cassandra-cql"
CLIENT_CONFIG = "/etc/bigdata/cassandra-cql.ini"  # the CONFIG that files/cassandra_cql.py reads
NODETOOL = "/usr/local/bin/nodetool"
SERVICE = "cassandra"
DEFAULT_SUPERUSER = "cassandra"
# the memory-measuring agent that Cassandra 5.0.x ships (lib/jamm-<version>.jar)
JAMM_JAR = "jamm-0.4.0.jar"
SEED_COUNT = 3
DEFAULT_RF = 3


class Settings(ComponentSettings):
    groups = ("cassandra",)

    cassandra_cluster_name: str = Field("bigdata", pattern=r"^[A-Za-z0-9 _.-]+$")
    cassandra_dc: str = Field("dc1", pattern=r"^[A-Za-z0-9_-]+$")
    cassandra_rack: str = Field("rack1", pattern=r"^[A-Za-z0-9_-]+$")
    cassandra_num_tokens: int = Field(16, ge=1, le=256)
    cassandra_storage_port: Port = 7000
    cassandra_native_transport_port: Port = 9042
    cassandra_jmx_port: Port = 7199
    # JVM heap in MiB; unset: Cassandra's rule, max(min(RAM/2, 1 GiB), min(RAM/4, 8 GiB))
    cassandra_heap_mb: int | None = Field(None, ge=256)
    # replication factor of the pipeline's keyspace and system_auth in each data
    # center; unset: min(3, the data center's nodes)
    cassandra_replication_factor: int | None = Field(None, ge=1)
    # how long a tick is kept (the ticks table's default TTL; 0: forever); at the default
    # 1,000 ticks/s a day is 86 million rows
    cassandra_ticks_ttl_days: int = Field(7, ge=0, le=3650)
    # durability (README, "Durability"): when the commit log reaches the disk. periodic: every
    # period, writes acknowledged before (a host crash loses up to a period of acknowledged
    # writes unless another replica has them); batch: before each write is acknowledged;
    # group: every window, writes waiting for it
    cassandra_commitlog_sync: Literal["periodic", "batch", "group"] = "periodic"
    cassandra_commitlog_sync_period_ms: int = Field(10000, ge=1)  # periodic
    cassandra_commitlog_sync_group_window_ms: int = Field(15, ge=1)  # group
    # backups (deploys/cassandra/backup.py): where they go, on the control machine, and how many are kept
    cassandra_backup_dir: str = str(Path(__file__).resolve().parents[2] / "backups")
    cassandra_backup_keep: int = Field(7, ge=1)
    cassandra_superuser: str = Field("bigdata_admin", pattern=r"^[a-z][a-z0-9_]{2,47}$")
    cassandra_password: str = secret("BIGDATA_CASSANDRA_PASSWORD", min_length=16)
    # each service's login role (deploys/cassandra/roles.py)
    cassandra_writer_password: str = secret("BIGDATA_CASSANDRA_WRITER_PASSWORD", min_length=16)
    cassandra_dashboard_password: str = secret("BIGDATA_CASSANDRA_DASHBOARD_PASSWORD", min_length=16)
    cassandra_concurrent_reads: int = Field(32, ge=2)
    cassandra_concurrent_writes: int = Field(32, ge=2)
    cassandra_concurrent_compactors: int = Field(2, ge=1)
    # startup pacing: how long a starting node listens to gossip before it joins
    # (Cassandra's default), and whether it waits for gossip to settle before serving
    cassandra_ring_delay_ms: int = Field(30000, ge=1000)
    cassandra_skip_gossip_settle: bool = False
    # how long a node may take to start and join (seconds)
    cassandra_start_timeout: int = Field(300, ge=30)

    @field_validator("cassandra_superuser")
    @classmethod
    def _not_the_default(cls, value: str) -> str:
        if value == DEFAULT_SUPERUSER:
            raise ValueError("must not be 'cassandra': the deploy replaces that default superuser")
        return value

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        nodes = group_sizes.get("cassandra", 0)
        rf = self.cassandra_replication_factor
        if rf is not None and nodes and rf > nodes:
            return [("cassandra_replication_factor",
                     f"{rf} is more than the {nodes} Cassandra node(s) of this inventory "
                     f"(no write or read at QUORUM could succeed)")]
        return []


class CassandraState(FactBase):
    """What the local Cassandra node says: which logins work, each keyspace's
    replication and tables (None while the client or the node is not there)."""

    def requires_command(self, *args, **kwargs) -> str:
        return CLIENT

    def command(self, user: str, password: HiddenValue) -> StringCommand:
        return StringCommand("env", QuoteString(StringCommand("CASSANDRA_USER", user, _separator="=")),
                             QuoteString(StringCommand("CASSANDRA_PASSWORD", password, _separator="=")),
                             CLIENT, "state", "2>/dev/null", "||", "true")

    def process(self, output):
        try:
            return json.loads(output[-1])
        except (IndexError, ValueError):
            return None


# ---------------------------------------------------------------------------------
# Pure helpers (unit-tested)

def default_heap_mb(memory_mb: int | None) -> int:
    """Cassandra's own rule (cassandra-env.sh): max(min(RAM/2, 1024), min(RAM/4, 8192))."""
    if not memory_mb:
        return 1024
    return common.heap_mb(None, memory_mb, share=4, low=min(memory_mb // 2, 1024), high=8192)


def off_heap_mb(heap_mb: int) -> dict[str, int]:
    """Caches and direct memory sized with the heap, so a small node stays small."""
    return {
        "file_cache_mb": max(32, min(512, heap_mb // 8)),
        "networking_cache_mb": max(16, min(128, heap_mb // 16)),
        "key_cache_mb": max(8, min(100, heap_mb // 20)),
        "direct_memory_mb": max(256, heap_mb // 2),
    }


def replication(dc_sizes: dict[str, int], rf: int | None) -> dict[str, int]:
    """NetworkTopologyStrategy factors per data center: the setting, else min(3, nodes)."""
    return {dc: rf if rf is not None else min(DEFAULT_RF, nodes) for dc, nodes in sorted(dc_sizes.items())}


def ring_factors(settings: Settings) -> dict[str, int]:
    """The pipeline's keyspace's replication factor per data center, for this inventory's ring."""
    dc_sizes: dict[str, int] = {}
    for member in members("cassandra"):
        dc = member.data.get("cassandra_dc") or settings.cassandra_dc
        dc_sizes[dc] = dc_sizes.get(dc, 0) + 1
    return replication(dc_sizes, settings.cassandra_replication_factor)


def replication_cql(factors: dict[str, int]) -> str:
    return "{" + ", ".join(["'class': 'NetworkTopologyStrategy'",
                            *(f"'{dc}': {n}" for dc, n in factors.items())]) + "}"


def same_replication(current: dict | None, factors: dict[str, int]) -> bool:
    """Whether a keyspace's replication (as system_schema shows it) is `factors` under NTS."""
    if not current or not current.get("class", "").endswith("NetworkTopologyStrategy"):
        return False
    return {k: int(v) for k, v in current.items() if k != "class"} == factors


def render_schema(text: str, keyspace: str, factors: dict[str, int], ticks_ttl_days: int) -> str:
    return (text.replace("{keyspace}", keyspace).replace("{replication}", replication_cql(factors))
            .replace("{ticks_ttl}", str(ticks_ttl_days * 86400)))


def schema_tables(text: str) -> list[str]:
    """The tables a schema file creates in the pipeline's keyspace."""
    return re.findall(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\{keyspace\}\.(\w+)", text, re.I)


# ---------------------------------------------------------------------------------

@deploy("Cassandra", data_defaults=Settings.defaults())
def install_cassandra():
    """Install Cassandra, join the node to the ring, secure it and apply the schema.

    Args (inventory data, defaults in `Settings`):
        cassandra_password: required secret of the superuser `cassandra_superuser`
        cassandra_writer_password, cassandra_dashboard_password: required secrets of the
            services' login roles (deploys/cassandra/roles.py)
        cassandra_heap_mb: JVM heap (unset: derived from the host's memory)
        cassandra_replication_factor: unset: min(3, nodes in the data center)
        cassandra_ticks_ttl_days: how long a tick is kept (the ticks table's default TTL; 0: forever)
        cassandra_cluster_name, cassandra_dc, cassandra_rack, cassandra_*_port
        tls_enabled, tls_dir (deploys/tls): clients over TLS only, nodes over mutual TLS
    """
    settings = Settings.from_host(host)
    base = common.Settings.from_host(host)
    user = base.service_user
    password = HiddenValue(settings.cassandra_password)
    ring = members("cassandra")
    first = ring[0].name == host.name

    listen_address = host.get_fact(ResolvedAddress, hostname=address())
    if not listen_address:
        raise ValueError(f"{host.name}: {address()} does not resolve to an IPv4 address on the host")
    seeds = [host.get_fact(ResolvedAddress, hostname=address(m)) or address(m) for m in ring[:SEED_COUNT]]
    factors = ring_factors(settings)

    if settings.cassandra_heap_mb:
        heap_mb, heap_origin = settings.cassandra_heap_mb, "cassandra_heap_mb"
    else:
        memory = host.get_fact(MemoryMb)
        heap_mb, heap_origin = default_heap_mb(memory), f"derived from {memory} MiB of memory"
    nofile = common.open_files("Cassandra", note="enough for this platform's tables (see cassandra.service)")

    root = f"{base.data_dir}/cassandra"
    paths = {"root": root, **{name: f"{root}/{name}" for name in
                              ("data", "commitlog", "saved_caches", "hints", "cdc_raw", "tmp", "triggers")}}
    log_dir = f"{base.log_dir}/cassandra"

    apt.packages(name="Install the CQL client's driver (python3-cassandra)",
                 packages=["python3-cassandra"], no_recommends=True)
    home = install_distribution("cassandra", base.artifact_base_url, base.install_dir, user)

    for path in (*paths.values(), log_dir):
        files.directory(name=f"Create {path}", path=path, user=user, group=user, mode="0750")
    files.directory(name=f"Create {CONF_DIR}", path=CONF_DIR, user="root", group=user, mode="0750")
    tls = listener_files()

    context = dict(settings=settings, version=CASSANDRA_VERSION, home=home, conf_dir=CONF_DIR, paths=paths,
                   log_dir=log_dir, listen_address=listen_address, seeds=seeds, heap_mb=heap_mb,
                   heap_origin=heap_origin, jamm_jar=JAMM_JAR, nofile=nofile, service_user=user,
                   token_allocation_rf=max(factors.values()), tls=tls, keystore=tls and pem_keystore(tls, CONF_DIR),
                   **off_heap_mb(heap_mb))
    config_ops = [
        files.template(name=f"Configure {name}", src=template(__package__, f"{name}.j2"), dest=f"{CONF_DIR}/{name}",
                       user="root", group=user, mode="0640", **context)
        for name in ("cassandra.yaml", "cassandra-rackdc.properties", "jvm-server.options",
                     "jvm-clients.options", "logback.xml", "logback-tools.xml")
    ]
    unit = files.template(name="Install the cassandra systemd unit", src=template(__package__, "cassandra.service.j2"),
                          dest=f"/etc/systemd/system/{SERVICE}.service", mode="0644", **context)
    files.template(name="Install nodetool", src=template(__package__, "nodetool.j2"), dest=NODETOOL, mode="0755",
                   **context)
    files.template(name="Configure cassandra-cql", src=template(__package__, "cassandra-cql.ini.j2"),
                   dest=CLIENT_CONFIG, mode="0644", address=listen_address,
                   port=settings.cassandra_native_transport_port, credentials=CREDENTIALS, ca=tls and tls.ca)
    files.put(name="Install cassandra-cql", src=plain_file(__package__, "cassandra_cql.py"), dest=CLIENT,
              mode="0755")
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    systemd.service(name="Enable Cassandra at boot", service=SERVICE, running=None, enabled=True)

    # Start, or restart after a config change, one node at a time (drain first).
    running = host.get_fact(SystemdStatus, services=[f"{SERVICE}.service"]).get(f"{SERVICE}.service")
    restart_and_wait(
        "Start Cassandra (or drain and restart it after a config change), one node at a time", SERVICE,
        ready_check(listen_address), timeout=settings.cassandra_start_timeout, fail_if_stopped=True,
        before=(f"if systemctl is-active --quiet {SERVICE}; then {NODETOOL} drain; fi",),
        _env={"CASSANDRA_USER": settings.cassandra_superuser, "CASSANDRA_PASSWORD": password},
        _if=(lambda: True) if not running else any_changed(unit, *config_ops),
    )

    # What is left is done once for the cluster (on its first node), and only when needed.
    state = host.get_fact(CassandraState, user=settings.cassandra_superuser, password=password)
    schema_text = SCHEMA.read_text()
    env = {"CASSANDRA_USER": settings.cassandra_superuser, "CASSANDRA_PASSWORD": password}
    need_superuser = not state or state["configured_login"] != "ok" or state["default_login"] != "refused"
    auth_rf_wrong = not state or not same_replication(state["replication"].get("system_auth"), factors)
    keyspace_now = (state or {}).get("replication", {}).get(KEYSPACE)
    keyspace_rf_changed = bool(keyspace_now) and not same_replication(keyspace_now, factors)
    need_schema = (not state or not keyspace_now or keyspace_rf_changed
                   or set(schema_tables(schema_text)) - set(state["tables"].get(KEYSPACE, [])))
    if first and need_superuser:
        server.shell(name=f"Set up the superuser {settings.cassandra_superuser} (created, or its new password set)",
                     commands=[f"{CLIENT} create-superuser"], _env=env)
    if auth_rf_wrong:
        if first:
            server.shell(name="Replicate system_auth as the pipeline's keyspace",
                         commands=[f"{CLIENT} exec -e \"ALTER KEYSPACE system_auth WITH replication = "
                                   f"{replication_cql(factors)}\""], _env=env)
        if max(factors.values()) > 1:
            server.shell(name="Repair system_auth after its replication change, one node at a time",
                         commands=[f"{NODETOOL} repair -full -pr system_auth"], _serial=True)
    if first and (not state or state["default_login"] != "refused"):
        server.shell(name="Drop the default superuser", commands=[f"{CLIENT} drop-default-superuser"], _env=env)
    if first:
        schema = files.put(name="Upload the pipeline's schema", dest=f"{CONF_DIR}/schema.cql",
                           src=StringIO(render_schema(schema_text, KEYSPACE, factors,
                                                      settings.cassandra_ticks_ttl_days)),
                           user="root", group=user, mode="0640")
        server.shell(name=f"Apply the schema of keyspace {KEYSPACE}",
                     commands=[f"{CLIENT} exec -f {CONF_DIR}/schema.cql",
                               f"{CLIENT} exec -e \"ALTER KEYSPACE {KEYSPACE} WITH replication = "
                               f"{replication_cql(factors)}\""],
                     _env=env, _if=lambda: bool(need_schema) or schema.did_change())
    if first:
        service_roles(settings, state, env)
    if keyspace_rf_changed and max(factors.values()) > 1:
        server.shell(name=f"Repair {KEYSPACE} after its replication change, one node at a time",
                     commands=[f"{NODETOOL} repair -full -pr {KEYSPACE}"], _serial=True)


def service_roles(settings: Settings, state: dict | None, env: dict) -> None:
    """Each service's login role with exactly its permissions (roles.py), where the cluster
    differs; every password set again when one changed (their SHA-256 recorded, root only)."""
    digests = common.password_digests("the services' Cassandra passwords", f"{CONF_DIR}/roles.sha256",
                                      {role.name: getattr(settings, role.password_setting) for role in ROLES})
    found = (state or {}).get("roles", {})
    differ = [role.name for role in ROLES if found.get(role.name) != role.grants()]
    wanted = [{"name": role.name, "password": getattr(settings, role.password_setting),
               "permissions": list(role.permissions), "table": role.table} for role in ROLES]
    server.shell(name=f"The services' login roles, each with exactly its permissions "
                      f"({', '.join(role.name for role in ROLES)})",
                 commands=[f"{CLIENT} roles --passwords"],
                 _env={**env, "CASSANDRA_ROLES": HiddenValue(json.dumps(wanted))},
                 _if=lambda: bool(differ) or digests.did_change())


def ready_check(listen_address: str) -> str:
    """Succeeds when the node at that address is UN in the ring as it sees it, no node
    there is down or moving, and a CQL login works (CASSANDRA_USER/CASSANDRA_PASSWORD in
    the environment). The deploy waits on it; `./bigdata status` reports it."""
    ip = re.escape(listen_address)
    return (f"ring=$({NODETOOL} status 2>&1); "
            f"if echo \"$ring\" | grep -Eq '^UN +{ip} ' && ! echo \"$ring\" | grep -Eq '^(D[NLJM]|U[LJM]) '; then "
            f"{CLIENT} ping && echo 'UN, CQL login works'; else echo \"$ring\" | grep -E '^[UD][NLJM] ' "
            f"|| echo \"$ring\"; false; fi")


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform: the node UN, a query answered."""
    settings = Settings.from_values(values)
    return ready_check(ip), {"CASSANDRA_USER": settings.cassandra_superuser,
                             "CASSANDRA_PASSWORD": settings.cassandra_password}
