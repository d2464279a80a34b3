"""deploys/cassandra on one node and on three, verified by testinfra and by a real
CQL client (Debian's python3-cassandra, the DataStax driver) on the hosts: clients over
TLS only, the nodes over mutual TLS.

    BIGDATA_COMPONENTS=cassandra pytest tests/cluster/test_cassandra.py
"""
import json
import os
import re
import ssl
import time
import uuid

import pytest

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from ctl import hosts
from deploys.cassandra.roles import ROLES
from shared import secrets
from deploys.tls import CA_FILE, CERT_FILE, KEY_FILE, pki
from shared.names import KEYSPACE, TICKS_TABLE
from tlskit import ANOTHER_CA, another_ca, settle

SUPERUSER = "bigdata_admin"
NODETOOL = "/usr/local/bin/nodetool"
CASSANDRA_ONLY = {"BIGDATA_COMPONENTS": "cassandra"}  # a rerun touches the common base and Cassandra only
TLS_DIR = "/etc/bigdata/tls"
CA = f"{TLS_DIR}/{CA_FILE}"

# A client run on a host: python3 CLIENT_SCRIPT ARGS... prints one JSON line.
CLIENT = r'''
import json, os, ssl, sys, logging
logging.getLogger("cassandra").setLevel(logging.CRITICAL)
from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, EXEC_PROFILE_DEFAULT, ExecutionProfile, NoHostAvailable
from cassandra.policies import DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy
args = json.loads(sys.argv[1])
policy = (WhiteListRoundRobinPolicy(args["contact"]) if args.get("only_contact")
          else DCAwareRoundRobinPolicy())
profile = ExecutionProfile(load_balancing_policy=policy, request_timeout=20,
                           consistency_level=ConsistencyLevel.name_to_value[args.get("cl", "QUORUM")])
cluster = Cluster(args["contact"], port=9042, protocol_version=5, connect_timeout=10,
                  auth_provider=PlainTextAuthProvider(args["user"], os.environ["CQL_PASSWORD"]),
                  execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                  **({"ssl_context": ssl.create_default_context(cafile=args["ca"])} if args.get("ca") else {}))
try:
    session = cluster.connect()
except NoHostAvailable as error:
    print(json.dumps({"connected": False, "error": str(error)}))
    sys.exit(0)
out = {"connected": True, "rows": []}
plain = (int, float, str, type(None))
for statement, params in args.get("statements", []):
    try:
        result = session.execute(statement, params)
    except Exception as error:  # a refusal is an answer when asked for ("refusals")
        if not args.get("refusals"):
            raise
        out["rows"].append({"refused": f"{type(error).__name__}: {error}"})
        continue
    out["rows"].append([[v if isinstance(v, plain) else str(v) for v in row] for row in result]
                       if result.column_names else None)
cluster.shutdown()
print(json.dumps(out))
'''


def cql(host, contact, user=SUPERUSER, password=None, statements=(), cl="QUORUM", only_contact=False, ca=CA,
        refusals=False):
    """Run the client on `host`, against `contact` (names or addresses), over TLS trusting `ca`
    (None: plaintext); its JSON answer (with refusals, a refused statement's row is
    {"refused": why} instead of an error)."""
    password = os.environ["BIGDATA_CASSANDRA_PASSWORD"] if password is None else password
    args = json.dumps({"contact": list(contact), "user": user, "statements": [list(s) for s in statements],
                       "cl": cl, "only_contact": only_contact, "ca": ca, "refusals": refusals})
    done = host.run(f"CQL_PASSWORD={_quote(password)} python3 -c {_quote(CLIENT)} {_quote(args)}")
    assert done.rc == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def address_of(host) -> str:
    return host.check_output("awk '/^listen_address:/ {print $2}' /etc/bigdata/cassandra/cassandra.yaml")


def ring(host) -> dict[str, str]:
    """address -> state ('UN', 'DN', ...) as `nodetool status` on the host shows it."""
    out = host.check_output(f"{NODETOOL} status")
    return {m.group(2): m.group(1) for m in re.finditer(r"^([UD][NLJM])\s+(\S+)", out, re.M)}


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"{what} not within {timeout:.0f}s (last: {last!r})")


def test_second_run_reports_no_changes(platform):
    assert "Cassandra | Start Cassandra" in platform.first_run.output
    assert platform.second_run.changed == 0, platform.second_run.output[-3000:]
    # the Cassandra operations did run the second time, each finding nothing to do
    rows = re.findall(r"^\s*(Cassandra \| .*?)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$",
                      platform.second_run.output, re.M)
    assert len(rows) >= 20, platform.second_run.output[-3000:]
    assert all(success == error == "-" for _, _, success, error, _ in rows), rows


def test_every_node_is_up_and_normal(platform):
    addresses = sorted(address_of(h) for h in platform.hosts)
    assert len(set(addresses)) == len(platform.hosts)
    for host in platform.hosts:
        assert ring(host) == {a: "UN" for a in addresses}, host.check_output(f"{NODETOOL} status")


def test_runs_as_the_service_user_under_systemd(platform):
    for host in platform.hosts:
        service = host.service("cassandra")
        assert service.is_running and service.is_enabled
        pid = host.check_output("systemctl show -p MainPID --value cassandra")
        assert host.check_output(f"ps -o user= -p {pid}") == "bigdata"
        limits = host.check_output(f"cat /proc/{pid}/limits")
        ceiling = int(host.check_output("awk '/^Max open files/ {print $5}' /proc/1/limits"))
        assert re.search(rf"Max open files\s+{min(100000, ceiling)}\s", limits)
        cmdline = host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline")
        assert "@/etc/bigdata/cassandra/jvm-server.options" in cmdline
        options = host.file("/etc/bigdata/cassandra/jvm-server.options").content_string
        assert "-Xmx1024m" in options, "the local inventory sizes the heap at 1 GiB"
        assert "-Djava.io.tmpdir=/var/lib/bigdata/cassandra/tmp" in options


def test_gc_and_system_logs_in_the_log_dir(platform):
    for host in platform.hosts:
        for log in ("gc.log", "system.log"):
            file = host.file(f"/var/log/bigdata/cassandra/{log}")
            assert file.exists and file.size > 0 and file.user == "bigdata"
        assert "Startup complete" in host.file("/var/log/bigdata/cassandra/system.log").content_string


def test_listens_on_the_host_address_and_jmx_only_on_loopback(platform):
    for host in platform.hosts:
        ip = address_of(host)
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip), "listen_address must be an IP"
        assert host.socket(f"tcp://{ip}:9042").is_listening
        assert host.socket(f"tcp://{ip}:7000").is_listening
        assert host.socket("tcp://127.0.0.1:7199").is_listening
        assert not host.socket("tcp://0.0.0.0:7199").is_listening
        assert not host.socket(f"tcp://{ip}:7199").is_listening


def test_login_with_the_inventorys_superuser_works_on_every_node(platform):
    for host in platform.hosts:
        answer = cql(host, [address_of(host)], only_contact=True,
                     statements=[("SELECT release_version FROM system.local", None)])
        assert answer["connected"], answer
        assert answer["rows"][0] == [["5.0.9"]]


def test_default_superuser_is_refused(platform):
    for host in platform.hosts:
        answer = cql(host, [address_of(host)], user="cassandra", password="cassandra", only_contact=True)
        assert not answer["connected"]
        assert "Bad credentials" in answer["error"] or "AuthenticationFailed" in answer["error"], answer
        # a wrong password for the real superuser is refused too (the check can fail)
        wrong = cql(host, [address_of(host)], password="not-the-password", only_contact=True)
        assert not wrong["connected"] and "credentials" in wrong["error"].lower(), wrong


def test_a_plaintext_client_and_one_trusting_another_ca_are_refused(platform):
    host = platform.hosts[0]
    address = address_of(host)
    plaintext = cql(host, [address], ca=None)
    assert not plaintext["connected"], plaintext
    another_ca(host)
    foreign = cql(host, [address], ca=ANOTHER_CA)
    assert not foreign["connected"] and "CERTIFICATE_VERIFY_FAILED" in foreign["error"], foreign


def test_nodes_talk_over_mutual_tls_only(platform):
    """storage_port presents the node's certificate for its address and wants the peer's:
    a connection without a client certificate from the CA gets nothing."""
    checker = platform.hosts[0]
    for host in platform.hosts:
        address = address_of(host)
        base = f"openssl s_client -connect {address}:7000 -CAfile {CA} -verify_ip {address} -verify_return_error"
        with_cert = checker.run(f"{base} -cert {TLS_DIR}/{CERT_FILE} -key {TLS_DIR}/{KEY_FILE} -brief < /dev/null")
        assert with_cert.rc == 0 and "Verification: OK" in with_cert.stderr, with_cert.stderr[-1500:]
        without = checker.run(f"(sleep 2; echo probe) | {base} -brief")
        said = without.stdout + without.stderr
        # (TLS 1.3: the client's handshake ends first; the node's alert answers its first bytes)
        assert "alert" in said.lower(), f"{address}: a client without a certificate got in:\n{said}"


def test_each_service_role_has_exactly_its_permissions(platform):
    host = platform.hosts[0]
    listed = cql(host, [address_of(host)], statements=[
        (f"LIST ALL PERMISSIONS OF {role.name} NORECURSIVE", []) for role in ROLES])
    assert listed["connected"], listed
    for role, rows in zip(ROLES, listed["rows"]):
        assert sorted([row[2], row[3]] for row in rows) == role.grants(), (role.name, rows)
    superusers = cql(host, [address_of(host)], statements=[("SELECT role, is_superuser FROM system_auth.roles", [])])
    assert {role for role, is_superuser in superusers["rows"][0] if is_superuser} == {SUPERUSER}


def test_the_writer_writes_without_reading_and_the_dashboard_reads_without_writing(platform):
    host = platform.hosts[0]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    symbol = f"ROLE{uuid.uuid4().hex[:6].upper()}"
    insert = (f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, currency, volume, "
              f"source) VALUES (%s, %s, toTimestamp(now()), %s, 1.0, 'USD', 1, 'rig')", [symbol, day, "role-test"])
    select = (f"SELECT tick_id FROM {KEYSPACE}.{TICKS_TABLE} WHERE symbol = %s AND day = %s", [symbol, day])
    ddl = (f"CREATE TABLE {KEYSPACE}.rig_{uuid.uuid4().hex[:6]} (k int PRIMARY KEY)", [])

    def as_role(name, *statements):
        role = next(role for role in ROLES if role.name == name)
        answer = cql(host, [address_of(host)], user=role.name, password=os.environ[role.secret],
                     statements=statements, refusals=True)
        assert answer["connected"], answer
        return answer["rows"]

    written, not_read, no_ddl = as_role("storage_writer", insert, select, ddl)
    assert written is None, written  # INSERT answers no rows
    assert "Unauthorized" in not_read["refused"] and "Unauthorized" in no_ddl["refused"], (not_read, no_ddl)
    read, not_written, no_ddl = as_role("dashboard", select, insert, ddl)
    assert read == [["role-test"]], read
    assert "Unauthorized" in not_written["refused"] and "Unauthorized" in no_ddl["refused"], (not_written, no_ddl)


def test_keyspaces_replicate_to_min_three_and_nodes(platform):
    host = platform.hosts[0]
    rf = str(min(3, len(platform.hosts)))
    answer = cql(host, [address_of(host)], statements=[
        (f"SELECT keyspace_name, replication FROM system_schema.keyspaces "
         f"WHERE keyspace_name IN ('{KEYSPACE}', 'system_auth')", None)])
    replication = {name: value for name, value in answer["rows"][0]}
    for keyspace in (KEYSPACE, "system_auth"):
        assert keyspace in replication, answer
        assert "NetworkTopologyStrategy" in replication[keyspace]
        assert f"'dc1': '{rf}'" in replication[keyspace], replication[keyspace]


def test_ticks_table_has_the_pipelines_columns(platform):
    host = platform.hosts[-1]  # schema reached every node
    answer = cql(host, [address_of(host)], only_contact=True, statements=[
        ("SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
         [KEYSPACE, TICKS_TABLE])])
    columns = dict(answer["rows"][0])
    assert columns["symbol"] == columns["day"] == "partition_key"
    assert columns["trade_time"] == columns["tick_id"] == "clustering"
    assert {"price", "currency", "volume", "source"} <= set(columns)


def test_ticks_expire_after_the_settings_days_in_day_long_compaction_windows(platform):
    """The data lifecycle: the ticks table's default TTL is cassandra_ticks_ttl_days (7 by
    default), so a tick written without one (as the writer writes them) expires then, and
    TimeWindowCompactionStrategy keeps each day apart (an expired day is dropped whole)."""
    host = platform.hosts[0]
    week = 7 * 86400
    symbol, day = f"TTL{uuid.uuid4().hex[:6].upper()}", time.strftime("%Y-%m-%d", time.gmtime())
    answer = cql(host, [address_of(host)], statements=[
        ("SELECT default_time_to_live, compaction FROM system_schema.tables "
         "WHERE keyspace_name = %s AND table_name = %s", [KEYSPACE, TICKS_TABLE]),
        (f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, currency, volume, "
         f"source) VALUES (%s, %s, toTimestamp(now()), 'ttl', 1.0, 'USD', 1, 'rig')", [symbol, day]),
        (f"SELECT TTL(price) FROM {KEYSPACE}.{TICKS_TABLE} WHERE symbol = %s AND day = %s", [symbol, day])])
    (ttl, compaction), = answer["rows"][0]
    assert ttl == week and "TimeWindowCompactionStrategy" in compaction, answer["rows"][0]
    assert "'compaction_window_unit': 'DAYS'" in compaction and "'compaction_window_size': '1'" in compaction
    (left,), = answer["rows"][2]
    assert week - 60 < left <= week, f"a new tick's TTL: {left} s"


@pytest.mark.parametrize("platform", ["one_node"], ids=["one-node"], indirect=True)  # in file order
def test_a_backup_then_a_wipe_then_a_restore_brings_every_row_back(platform, tmp_path):
    """deploys/backup.py snapshots the keyspace into cassandra_backup_dir (and its schema);
    the table is wiped (TRUNCATE); deploys/restore.py loads the backup: every row is back,
    counted and compared. A second backup with cassandra_backup_keep = 1 leaves only itself."""
    host = platform.hosts[0]
    contact = [address_of(host)]
    symbol, day = f"BAK{uuid.uuid4().hex[:6].upper()}", time.strftime("%Y-%m-%d", time.gmtime())
    rows = {f"bak-{n}": float(n) + 0.25 for n in range(200)}  # (one client command line holds them)
    cql(host, contact, statements=[
        (f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, currency, volume, "
         f"source) VALUES (%s, %s, toTimestamp(now()), %s, %s, 'USD', 1, 'rig')", [symbol, day, tick, price])
        for tick, price in rows.items()])
    select = (f"SELECT tick_id, price FROM {KEYSPACE}.{TICKS_TABLE} WHERE symbol = %s AND day = %s", [symbol, day])

    def stored() -> dict[str, float]:
        return dict(map(tuple, cql(host, contact, statements=[select])["rows"][0]))

    assert stored() == rows
    backups, name = tmp_path / "backups", "20260101T000000Z"
    data = {"cassandra_backup_dir": str(backups)}
    made = platform.deploy("deploys/backup.py", data=data, extra_env={"BIGDATA_BACKUP": name},
                           log_name="cassandra-backup")
    assert made.returncode == 0, made.output[-3000:]
    assert (backups / name / "node-1.tar.gz").stat().st_size > 0
    assert f"CREATE TABLE {KEYSPACE}.{TICKS_TABLE}" in (backups / name / "schema.cql").read_text()

    cql(host, contact, statements=[(f"TRUNCATE {KEYSPACE}.{TICKS_TABLE}", None)])
    assert stored() == {}, "the wipe"
    restored = platform.deploy("deploys/restore.py", data=data, extra_env={"BIGDATA_BACKUP": name},
                               log_name="cassandra-restore")
    assert restored.returncode == 0, restored.output[-3000:]
    assert stored() == rows, "every row back, each with its price"
    assert host.run("ls /var/tmp/bigdata-backup").rc != 0, "the staging directory is gone"

    later = platform.deploy("deploys/backup.py", data={**data, "cassandra_backup_keep": 1},
                            extra_env={"BIGDATA_BACKUP": "20260102T000000Z"}, log_name="cassandra-backup-keep")
    assert later.returncode == 0, later.output[-3000:]
    assert sorted(p.name for p in backups.iterdir()) == ["20260102T000000Z"]


def test_superuser_credentials_file_is_root_only(platform):
    for index, host in enumerate(platform.hosts):
        creds = host.file("/etc/bigdata/cassandra/credentials")
        if index == 0:  # written where the superuser was set up
            assert creds.exists and creds.mode == 0o600 and creds.user == "root"
        assert os.environ["BIGDATA_CASSANDRA_PASSWORD"] not in host.file(
            "/etc/bigdata/cassandra/cassandra.yaml").content_string



@pytest.mark.parametrize("platform", ["one_node"], ids=["one-node"], indirect=True)  # the one node alone, in file order
def test_a_new_superuser_password_is_a_run_applied_live_and_an_open_session_carries_on(platform):
    """The deploy logs in with the superuser's login the host kept (root only), changes the
    password with ALTER ROLE, and keeps the new one: no restart, and a session opened with
    the old password carries on. (The role lives in system_auth, replicated to every node:
    the one node tells.)"""
    host = platform.hosts[0]
    old, new = os.environ["BIGDATA_CASSANDRA_PASSWORD"], secrets.generate()["BIGDATA_CASSANDRA_PASSWORD"]
    settle(platform, CASSANDRA_ONLY, "cassandra-settle")
    pid = host.check_output("systemctl show -p MainPID --value cassandra")
    tls = ssl.create_default_context(cafile=secrets.ca_file(pki.CA_CERT))
    cluster = Cluster([hosts.ip_address(platform.names[0])], port=9042, protocol_version=5, ssl_context=tls,
                      auth_provider=PlainTextAuthProvider(SUPERUSER, old))
    session = cluster.connect()
    contact = [address_of(host)]
    try:
        rotated = platform.deploy(extra_env={**CASSANDRA_ONLY, "BIGDATA_CASSANDRA_PASSWORD": new},
                                  log_name="cassandra-superuser-rotate")
        assert rotated.returncode == 0, rotated.output[-3000:]
        assert host.check_output("systemctl show -p MainPID --value cassandra") == pid, "Cassandra restarted"
        assert session.execute("SELECT release_version FROM system.local").one(), "the open session"
        assert cql(host, contact, password=new)["connected"]
        wait_until(lambda: not cql(host, contact, password=old)["connected"], 30, "the old password refused")
        assert new in host.file("/etc/bigdata/cassandra/credentials").content_string
        again = platform.deploy(extra_env={**CASSANDRA_ONLY, "BIGDATA_CASSANDRA_PASSWORD": new},
                                log_name="cassandra-superuser-again")
        assert (again.returncode, again.changed) == (0, 0), again.output[-3000:]
    finally:
        cluster.shutdown()
        back = platform.deploy(extra_env=CASSANDRA_ONLY, log_name="cassandra-superuser-rotate-back")
        assert back.returncode == 0, back.output[-3000:]
    assert cql(host, contact, password=old)["connected"]


def test_quorum_survives_a_stopped_node_and_the_ring_heals(three_node):
    first, second, third = three_node.hosts
    addresses = [address_of(h) for h in three_node.hosts]
    run = uuid.uuid4().hex[:8]
    insert = (f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, currency, "
              f"volume, source) VALUES (%s, '2026-01-02', '2026-01-02 10:00:00+0000', %s, %s, 'USD', 10, 'test')")
    select = f"SELECT tick_id, price FROM {KEYSPACE}.{TICKS_TABLE} WHERE symbol = %s AND day = '2026-01-02'"
    symbol = f"FAULT{run}"
    third.run_expect([0], "systemctl stop cassandra")
    try:
        wait_until(lambda: ring(first).get(addresses[2]) == "DN", 60, "the stopped node seen down")
        ticks = [(symbol, f"t{i}", 100.0 + i) for i in range(20)]
        answer = cql(first, addresses[:2], cl="QUORUM", statements=[(insert, list(t)) for t in ticks]
                     + [(select, [symbol])])
        assert answer["connected"]
        assert sorted(answer["rows"][-1]) == sorted([t[1], t[2]] for t in ticks)
        # ALL cannot succeed with a replica down: the check is real
        at_all = json.dumps({"contact": addresses[:2], "user": SUPERUSER, "cl": "ALL", "ca": CA,
                             "statements": [[select, [symbol]]]})
        down = first.run(f"CQL_PASSWORD={_quote(os.environ['BIGDATA_CASSANDRA_PASSWORD'])} python3 -c "
                         f"{_quote(CLIENT)} {_quote(at_all)}")
        assert down.rc != 0 and "Unavailable" in down.stderr + down.stdout
    finally:
        started = time.monotonic()
        third.run_expect([0], "systemctl start cassandra")
    for host in three_node.hosts:
        wait_until(lambda host=host: ring(host) == {a: "UN" for a in addresses}, 180, f"every node UN on {host.backend.name}")
    healed = time.monotonic() - started
    # the returning node got what it missed (hints), and every replica answers
    wait_until(lambda: all("not have any pending hints" in h.check_output(f"{NODETOOL} listpendinghints")
                           for h in (first, second)), 120, "hints delivered")
    answer = cql(third, [addresses[2]], cl="ALL", statements=[(select, [symbol])])
    assert len(answer["rows"][0]) == 20
    assert healed < 180


def test_config_change_restarts_nodes_one_at_a_time_with_drain(platform):
    """Change the config under Cassandra's feet: the deploy restores it, draining and
    restarting one node at a time, each UN again before the next."""
    before = {}
    for host in platform.hosts:
        host.run_expect([0], "sed -i 's/^concurrent_compactors: .*/concurrent_compactors: 1/' "
                             "/etc/bigdata/cassandra/cassandra.yaml")
        before[host.backend.name] = int(host.check_output(
            "systemctl show -p ExecMainStartTimestampMonotonic --value cassandra"))
    result = platform.deploy(extra_env=CASSANDRA_ONLY, log_name=f"cassandra-rolling-{len(platform.hosts)}")
    assert result.returncode == 0, result.output[-4000:]
    assert "Start Cassandra (or drain and restart it after a config change)" in result.output
    drained, ready = [], []
    for host in platform.hosts:
        started = int(host.check_output("systemctl show -p ExecMainStartTimestampMonotonic --value cassandra"))
        assert started > before[host.backend.name], f"{host.backend.name} was not restarted"
        assert "concurrent_compactors: 2" in host.file("/etc/bigdata/cassandra/cassandra.yaml").content_string
        log = host.file("/var/log/bigdata/cassandra/system.log").content_string
        drained.append(_last_time(log, "DRAINING: starting drain process"))
        ready.append(_last_time(log, "Startup complete"))
        assert drained[-1] < ready[-1], f"{host.backend.name}: drained, then started again"
    # one node at a time (in whatever order pyinfra took them): each node drained only
    # once the node restarted before it was up again
    restarts = sorted(zip(drained, ready))
    for (_, previous_ready), (next_drained, _) in zip(restarts, restarts[1:]):
        assert next_drained > previous_ready, restarts
    addresses = sorted(address_of(h) for h in platform.hosts)
    for host in platform.hosts:
        assert ring(host) == {a: "UN" for a in addresses}
    again = platform.deploy(extra_env=CASSANDRA_ONLY, log_name=f"cassandra-rolling-{len(platform.hosts)}-again")
    assert again.returncode == 0 and again.changed == 0, again.output[-3000:]


def _last_time(log: str, message: str) -> str:
    """ISO time of the last system.log line with the message (sortable as text)."""
    times = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*" + re.escape(message), log)
    assert times, f"no {message!r} in system.log"
    return times[-1]
