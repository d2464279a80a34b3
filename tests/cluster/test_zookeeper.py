"""deploys/zookeeper on one host and on three, verified by testinfra: a standalone
server on one node, an ensemble of one leader and two followers on three (talking over
mutual TLS), writes replicated to every server, a configuration change rolled out one
server at a time; clients over TLS only, every session logged in, the root the admin's."""
import os
import shlex
import time

import pytest

from deploys import zookeeper
from shared import secrets
from deploys.tls import s_client
from deploys.zookeeper import acls
from deploys.zookeeper.facts import parse_acls
from tlskit import CA, TLS_DIR, another_ca, settle

UNIT = "zookeeper"
PLAINTEXT_PORT, PORT, ELECTION_PORT = 2181, 2281, 3888  # the platform's defaults (no Mesos: no plaintext port)
ZOOKEEPER_ONLY = {"BIGDATA_COMPONENTS": "zookeeper"}


def ensemble_of(platform) -> dict:
    """The ZooKeeper servers (in inventory order: server id = position) and their settings."""
    servers = platform.members("zookeeper")
    hosts = dict(zip(platform.names, platform.hosts))
    return dict(servers=servers, settings={name: platform.settings(name, zookeeper.Settings) for name in servers},
                hosts={name: hosts[name] for name in servers})


@pytest.fixture(scope="module")
def ensemble(platform):
    return ensemble_of(platform)


def four_letter(host, server, word) -> str:
    return host.check_output(f"printf {word} | {s_client(server, PORT, CA)}")


def shell(host, server, *commands, login: str | None = None):
    """zookeeper-shell on `host` to `server`'s TLS port, logged in as `login` (user:password)
    first when given: the commands' result (rc, stdout, stderr)."""
    lines = ([f"addauth digest {login}"] if login else []) + list(commands)
    return host.run(f"printf '%s\\n' {' '.join(shlex.quote(line) for line in lines)} | "
                    f"timeout 60 zookeeper-shell -server {server}:{PORT}")


def admin(host, *commands) -> str:
    """zookeeper-admin on `host` (its own server, as the super user): what it printed."""
    return host.check_output(f"printf '%s\\n' {' '.join(shlex.quote(line) for line in commands)} | "
                             f"timeout 60 zookeeper-admin 2>&1")


def modes(ensemble) -> dict[str, str]:
    """server -> its Mode, as `srvr` reports it (asked from the first server's host)."""
    asker = ensemble["hosts"][ensemble["servers"][0]]
    found = {}
    for server in ensemble["servers"]:
        lines = four_letter(asker, server, "srvr").splitlines()
        found[server] = next((line.split(": ", 1)[1] for line in lines if line.startswith("Mode: ")), None)
    return found


def test_server_runs_as_service_user(ensemble):
    for name, host in ensemble["hosts"].items():
        service = host.service(UNIT)
        assert service.is_running and service.is_enabled, name
        pid = host.check_output(f"systemctl show -p MainPID --value {UNIT}")
        assert host.check_output(f"ps -o user= -p {pid}") == "bigdata"
        cmdline = host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline")
        memory_mb = int(host.check_output("awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo"))
        heap = zookeeper.heap_mb(ensemble["settings"][name], memory_mb)
        assert f"-Xmx{heap}m" in cmdline and "org.apache.zookeeper.server.quorum.QuorumPeerMain" in cmdline
        rss_mb = int(host.check_output(f"ps -o rss= -p {pid}")) // 1024
        print(f"{name} zookeeper: heap {heap} MB, RSS {rss_mb} MB")


def test_myid_and_server_lines_follow_the_inventory(ensemble):
    expected = {f"server.{i}={name}:2888:3888" for i, name in enumerate(ensemble["servers"], start=1)}
    for position, (_name, host) in enumerate(ensemble["hosts"].items(), start=1):
        assert host.file("/var/lib/bigdata/zookeeper/data/myid").content_string.strip() == str(position)
        config = host.file("/opt/bigdata/zookeeper/conf/zoo.cfg").content_string.splitlines()
        assert {line for line in config if line.startswith("server.")} == expected
        assert "dataDir=/var/lib/bigdata/zookeeper/data" in config


def test_one_server_is_standalone_three_elect_one_leader(ensemble):
    found = modes(ensemble)
    if len(ensemble["servers"]) == 1:
        assert list(found.values()) == ["standalone"]
    else:
        assert sorted(found.values()) == ["follower"] * (len(found) - 1) + ["leader"], found
        # and every server counts the whole ensemble (mntr on the leader)
        (leader,) = [s for s, mode in found.items() if mode == "leader"]
        mntr = dict(line.split("\t", 1) for line in
                    four_letter(ensemble["hosts"][leader], leader, "mntr").splitlines() if "\t" in line)
        assert int(mntr["zk_synced_followers"]) == len(found) - 1


def test_only_whitelisted_four_letter_words_answer(ensemble):
    name, host = next(iter(ensemble["hosts"].items()))
    assert four_letter(host, name, "ruok") == "imok"
    assert "zk_server_state" in four_letter(host, name, "mntr")
    assert "is not executed because it is not in the whitelist" in four_letter(host, name, "conf")


def test_a_write_on_one_server_is_read_on_every_server(ensemble):
    first, *_ = ensemble["servers"]
    node = f"/bigdata-test-{os.getpid()}"
    assert f"Created {node}" in admin(ensemble["hosts"][first], f"create {node} replicated")
    for name, host in ensemble["hosts"].items():
        # `sync` first: a follower may lag the leader by a moment
        out = admin(host, f"sync {node}", f"get {node}")
        assert "replicated" in out.splitlines(), f"{name}: {out!r}"
    admin(ensemble["hosts"][first], f"delete {node}")


def test_the_plaintext_port_is_closed_and_clients_need_the_platforms_ca(ensemble):
    """No Mesos or Marathon in these inventories: nothing needs the plaintext port, so it is
    not open; the TLS port presents the host's certificate, for its name, from the platform's
    CA, and a client trusting another CA is refused."""
    host = next(iter(ensemble["hosts"].values()))
    foreign = another_ca(host)
    for name in ensemble["servers"]:
        assert host.run(f"nc -z -w 3 {name} {PLAINTEXT_PORT}").rc != 0, f"{name}: port {PLAINTEXT_PORT} is open"
        assert "Mode: " in four_letter(host, name, "srvr")
        refused = host.run(f"printf srvr | {s_client(name, PORT, foreign)}")
        assert refused.rc != 0 and "Mode: " not in refused.stdout, f"{name}: {refused.stdout}"


def test_an_anonymous_session_and_a_wrong_password_are_refused(ensemble):
    name, host = next(iter(ensemble["hosts"].items()))
    anonymous = shell(host, name, "ls /")
    assert "Session closed because client failed to authenticate" in anonymous.stdout + anonymous.stderr, \
        anonymous.stdout + anonymous.stderr
    wrong = shell(host, name, "ls /", "create /bigdata-intruder x", login=f"{acls.ADMIN}:not-the-password")
    said = wrong.stdout + wrong.stderr  # zkCli prints a refusal on stderr
    assert said.count("Insufficient permission") == 2, said
    assert "bigdata-intruder" not in admin(host, "ls /")


def test_the_root_acl_is_the_admins_only(ensemble):
    """What ZooKeeper holds is what deploys/zookeeper/acls.py says (no Mesos, no Marathon in
    these inventories: the root only), and the admin, logged in, may do anything."""
    name, host = next(iter(ensemble["hosts"].items()))
    out = admin(host, "getAcl /")
    assert parse_acls(["--acl /", *out.splitlines()])["/"] == \
        acls.wanted(os.environ["BIGDATA_ZOOKEEPER_ADMIN_PASSWORD"], {})["/"], out
    login = f"{acls.ADMIN}:{os.environ['BIGDATA_ZOOKEEPER_ADMIN_PASSWORD']}"
    assert "[zookeeper]" in shell(host, name, "ls /", login=login).stdout


def test_the_servers_talk_over_mutual_tls(ensemble):
    """The quorum's ports take only a peer with a certificate from the platform's CA: each
    server presents its own, for its name; a peer without one is refused, one with its
    host's certificate is not."""
    if len(ensemble["servers"]) == 1:
        pytest.skip("a standalone server has no quorum to talk to")
    host = next(iter(ensemble["hosts"].values()))
    for name in ensemble["servers"]:
        # stdin held open a moment: the server's refusal comes after the handshake's first flight
        probe = f"sleep 3 | timeout 10 openssl s_client -connect {name}:{ELECTION_PORT} -CAfile {CA} " \
                f"-verify_hostname {name} -verify_return_error"
        anonymous = host.run(f"{probe} 2>&1").stdout
        assert "Verification: OK" in anonymous and "alert certificate required" in anonymous, \
            f"{name}: {anonymous[-1500:]}"
        peer = host.run(f"{probe} -cert {TLS_DIR}/host.crt -key {TLS_DIR}/host.key 2>&1").stdout
        assert "Verification: OK" in peer and "alert" not in peer, f"{name}: {peer[-1500:]}"
        log = ensemble["hosts"][name].file("/var/log/bigdata/zookeeper/zookeeper.log").content_string
        assert "SSL handshake complete with" in log, name


def test_daemon_logs_to_the_log_dir(ensemble):
    for name, host in ensemble["hosts"].items():
        log = host.file("/var/log/bigdata/zookeeper/zookeeper.log")
        assert log.user == "bigdata" and f"binding to port 0.0.0.0/0.0.0.0:{PORT}" in log.content_string, name


def test_second_run_changes_and_restarts_nothing(platform, ensemble):
    assert "Wait until ZooKeeper serves" in platform.first_run.output, "the first run deployed ZooKeeper"
    assert platform.second_run.changed == 0, platform.second_run.output[-3000:]
    for name, host in ensemble["hosts"].items():
        assert host.check_output(f"systemctl show -p NRestarts --value {UNIT}") == "0", name


WATCH = """
while true; do
  down=""
  for s in {servers}; do nc -z -w 1 "$s" 2281 || down="$down $s"; done
  echo "$(date +%s.%N)$down"
  sleep 0.1
done
"""


def redeploy_watching(platform, ensemble, env: dict[str, str] | None = None,
                      log_name: str = "zookeeper-rolling-restart") -> list[list[str]]:
    """Deploy ZooKeeper again with `env` overriding the inventory's, while the first
    host records which servers refuse connections, every ~0.1 s. Returns the samples:
    for each, the servers that were down."""
    watcher = ensemble["hosts"][ensemble["servers"][0]]
    script, out = "/root/zookeeper-watch.sh", "/root/zookeeper-watch.log"
    watcher.check_output(f"printf %s {shlex.quote(WATCH.format(servers=' '.join(ensemble['servers'])))} > {script}")
    pid = watcher.check_output(f"nohup sh {script} > {out} 2>/dev/null < /dev/null & echo $!")
    try:
        done = platform.deploy(extra_env={**ZOOKEEPER_ONLY, **(env or {})}, log_name=log_name)
        output = done.output
        assert done.returncode == 0, output[-4000:]
        # the rolling restart ran, and succeeded on every server
        section = output.partition("Restart ZooKeeper on a change, one server at a time")[2].partition("-->")[0]
        assert section.count("] Success") == len(ensemble["servers"]), output[-4000:]
        time.sleep(1)
    finally:
        watcher.run(f"kill {pid}")
    samples = [line.split()[1:] for line in watcher.file(out).content_string.splitlines()]
    assert len(samples) > 20, "the watcher sampled the whole redeploy"
    return samples


def one_at_a_time(ensemble, samples: list[list[str]]) -> None:
    """Every server restarted, and never two at once (the quorum held)."""
    assert {server for sample in samples for server in sample} == set(ensemble["servers"]), "every server restarted"
    assert max(len(sample) for sample in samples) == 1, [s for s in samples if len(s) > 1][:5]


@pytest.mark.parametrize("platform", ["three_node"], ids=["three-node"], indirect=True)  # in file order
def test_a_new_admin_password_is_a_run_one_server_at_a_time_and_the_acls_follow(platform):
    """The admin's digest is in every server's configuration (zoo.cfg): a new password is a
    configuration change, which restarts the servers one at a time, each until it serves
    again, never two down at once (the quorum holds; this is the rollout test of any zoo.cfg
    change too). The znodes' ACLs then name the new digest, the old password is refused at
    the root, and a second run changes nothing."""
    ensemble = ensemble_of(platform)
    variable = "BIGDATA_ZOOKEEPER_ADMIN_PASSWORD"
    old, new = os.environ[variable], secrets.generate()[variable]
    name, host = next(iter(ensemble["hosts"].items()))
    settle(platform, ZOOKEEPER_ONLY, "zookeeper-settle")
    try:
        one_at_a_time(ensemble, redeploy_watching(platform, ensemble, {variable: new}, "zookeeper-admin-rotate"))
        assert parse_acls(["--acl /", *admin(host, "getAcl /").splitlines()])["/"] == acls.wanted(new, {})["/"]
        assert "[zookeeper]" in shell(host, name, "ls /", login=f"{acls.ADMIN}:{new}").stdout
        refused = shell(host, name, "ls /", login=f"{acls.ADMIN}:{old}")
        assert "Insufficient permission" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
        again = platform.deploy(extra_env={**ZOOKEEPER_ONLY, variable: new}, log_name="zookeeper-admin-again")
        assert (again.returncode, again.changed) == (0, 0), again.output[-3000:]
    finally:
        one_at_a_time(ensemble, redeploy_watching(platform, ensemble, log_name="zookeeper-admin-rotate-back"))
    assert "[zookeeper]" in shell(host, name, "ls /", login=f"{acls.ADMIN}:{old}").stdout
    assert sorted(modes(ensemble).values()) == ["follower", "follower", "leader"]
