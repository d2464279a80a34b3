"""deploys/redis: TLS only (the certificate from the platform's CA, no plaintext port), ACL
users (the default one off, each service allowed exactly its keys, channels and commands),
bound to the host address, AOF, maxmemory policy. A new admin password is a run that
changes it live, without a restart. (A service's password rotated live, as part of the
pipeline's rotation: tests/e2e/test_up.py.)"""
import os

import pytest
import redis

from ctl import hosts
from deploys.redis import ADMIN_LOGIN
from deploys.tls import pki
from shared import names, secrets
from tlskit import ANOTHER_CA, CA, another_ca, settle

PASSWORDS = {names.REDIS_ADMIN_USER: "BIGDATA_REDIS_PASSWORD",
             names.REDIS_PUBLISHER_USER: "BIGDATA_REDIS_PUBLISHER_PASSWORD",
             names.REDIS_LIVE_LANE_USER: "BIGDATA_REDIS_LIVE_LANE_PASSWORD",
             names.REDIS_DASHBOARD_USER: "BIGDATA_REDIS_DASHBOARD_PASSWORD"}


@pytest.fixture
def redis_hosts(platform):
    # Redis runs on the hosts of the redis group: the first host on both inventories
    return platform.hosts[:1]


def redis_cli(host, command: str, user: str | None = names.REDIS_ADMIN_USER, password: str | None = None,
              ca: str | None = CA, target: str | None = None):
    """redis-cli on the host: over TLS checked against `ca` (None: plaintext), as `user` with
    its password (this run's, unless given; user None: no login)."""
    if user and password is None:
        password = os.environ[PASSWORDS[user]]
    auth, login = (f"REDISCLI_AUTH='{password}' ", f"--user {user}") if user else ("", "")
    tls = f"--tls --cacert {ca}" if ca else ""
    return host.run(f"{auth}redis-cli --no-auth-warning {login} {tls} -h {target or host.backend.name} {command}")


def said(reply) -> str:
    return reply.stdout + reply.stderr


def test_redis_runs_and_is_enabled(redis_hosts):
    for host in redis_hosts:
        service = host.service("redis-server")
        assert service.is_running and service.is_enabled


def test_a_plaintext_client_is_refused(redis_hosts):
    for host in redis_hosts:
        reply = redis_cli(host, "ping", ca=None)
        assert "PONG" not in reply.stdout, said(reply)


def test_a_client_trusting_another_ca_is_refused(redis_hosts):
    for host in redis_hosts:
        another_ca(host)
        reply = redis_cli(host, "ping", ca=ANOTHER_CA)
        assert "PONG" not in reply.stdout and "certificate verify failed" in said(reply), said(reply)


def test_the_default_user_and_a_wrong_password_are_refused(redis_hosts):
    for host in redis_hosts:
        assert "NOAUTH" in said(redis_cli(host, "set probe 1", user=None))
        assert "WRONGPASS" in said(redis_cli(host, "ping", password="not-the-password"))
        # the old single password, sent as the default user's, opens nothing either
        reply = host.run(f"REDISCLI_AUTH='{os.environ['BIGDATA_REDIS_PASSWORD']}' redis-cli --no-auth-warning "
                         f"--tls --cacert {CA} -h {host.backend.name} ping")
        assert "WRONGPASS" in said(reply), said(reply)


def test_the_admin_user_may_do_anything(redis_hosts):
    for host in redis_hosts:
        assert redis_cli(host, "set probe 1").stdout.strip() == "OK"
        assert redis_cli(host, "get probe").stdout.strip() == "1"


@pytest.mark.parametrize("user, allowed, refused", [
    (names.REDIS_PUBLISHER_USER,
     [f"hset {names.LATEST_KEY_PREFIX}PROBE 1s {{}}", f"hget {names.LATEST_KEY_PREFIX}PROBE 1s",
      f"publish {names.ANALYTICS_CHANNEL} {{}}"],
     [f"hset {names.LIVE_KEY_PREFIX}PROBE 1s {{}}", f"publish {names.LIVE_CHANNEL} {{}}", "set probe 1",
      f"hgetall {names.LATEST_KEY_PREFIX}PROBE", "flushall", "config get maxmemory", "keys 'latest:*'"]),
    (names.REDIS_LIVE_LANE_USER,
     [f"hset {names.LIVE_KEY_PREFIX}PROBE 1s {{}}", f"publish {names.LIVE_CHANNEL} {{}}"],
     [f"hset {names.LATEST_KEY_PREFIX}PROBE 1s {{}}", f"publish {names.ANALYTICS_CHANNEL} {{}}", "flushall",
      "acl list"]),
    (names.REDIS_DASHBOARD_USER,
     [f"hgetall {names.LATEST_KEY_PREFIX}PROBE", f"hgetall {names.LIVE_KEY_PREFIX}PROBE"],
     [f"hset {names.LATEST_KEY_PREFIX}PROBE 1s {{}}", f"publish {names.ANALYTICS_CHANNEL} {{}}", "del probe",
      "flushall", "config set maxmemory 1", "get probe"]),
])
def test_each_service_user_may_do_its_work_and_nothing_else(redis_hosts, user, allowed, refused):
    for host in redis_hosts:
        for command in allowed:
            reply = redis_cli(host, command, user=user)
            assert reply.rc == 0 and "NOPERM" not in said(reply) and "ERR" not in said(reply), (command, said(reply))
        for command in refused:
            assert "NOPERM" in said(redis_cli(host, command, user=user)), (user, command)


def test_reachable_from_other_hosts_over_tls_checking_the_name(platform, redis_hosts):
    password = os.environ["BIGDATA_REDIS_PASSWORD"]
    target = redis_hosts[0].backend.name
    for host in platform.hosts:
        # redis-tools is only on the Redis host; others speak RESP through openssl (a base package)
        reply = host.run(f"printf 'AUTH {names.REDIS_ADMIN_USER} {password}\\r\\nPING\\r\\nQUIT\\r\\n' | "
                         f"openssl s_client -connect {target}:6379 -CAfile {CA} -verify_hostname {target} "
                         f"-verify_return_error -quiet")
        assert reply.rc == 0 and "+OK" in reply.stdout and "+PONG" in reply.stdout, said(reply)


def test_durability_and_memory_policy(redis_hosts):
    for host in redis_hosts:
        config = {key: redis_cli(host, f"config get {key}").stdout.split()[1]
                  for key in ("appendonly", "maxmemory-policy", "maxmemory", "protected-mode", "port")}
        assert config == {"appendonly": "yes", "maxmemory-policy": "allkeys-lru",
                          "maxmemory": str(256 * 1024 * 1024), "protected-mode": "yes", "port": "0"}


def test_config_is_not_world_readable_and_holds_no_password(redis_hosts):
    for host in redis_hosts:
        for path in ("/etc/redis/redis.conf", "/etc/redis/users.conf"):
            config = host.file(path)
            assert config.user == "redis" and config.mode == 0o640
            text = config.content_string
            assert not [name for name in PASSWORDS.values() if os.environ[name] in text], "only the passwords' digests"
        assert f"user {names.REDIS_DASHBOARD_USER} on #" in host.file("/etc/redis/users.conf").content_string


REDIS_ONLY = {"BIGDATA_COMPONENTS": "redis"}


@pytest.mark.parametrize("platform", ["one_node"], ids=["one-node"], indirect=True)  # the one node alone, in file order
def test_a_new_admin_password_is_a_run_applied_live_and_an_open_session_carries_on(platform):
    """The admin's password is the one the deploy logs in with: a new one is applied live
    too (logged in with the one Redis holds), with no restart, and then kept for the next
    run. (Redis is on the first host of both inventories: the one node tells.)"""
    host = platform.hosts[0]
    old, new = os.environ["BIGDATA_REDIS_PASSWORD"], secrets.generate()["BIGDATA_REDIS_PASSWORD"]
    settle(platform, REDIS_ONLY, "redis-settle")
    pid = host.check_output("systemctl show -p MainPID --value redis-server")
    session = redis.Redis(host=hosts.ip_address(platform.names[0]), port=6379, username=names.REDIS_ADMIN_USER,
                          password=old, ssl=True, ssl_ca_certs=secrets.ca_file(pki.CA_CERT),
                          socket_timeout=10)
    assert session.ping()
    try:
        rotated = platform.deploy(extra_env={**REDIS_ONLY, "BIGDATA_REDIS_PASSWORD": new}, log_name="redis-admin-rotate")
        assert rotated.returncode == 0, rotated.output[-3000:]
        assert host.check_output("systemctl show -p MainPID --value redis-server") == pid, "Redis restarted"
        assert session.ping(), "the admin's open session"  # a new connection would log in with the old password
        assert "WRONGPASS" in said(redis_cli(host, "ping", password=old))
        assert redis_cli(host, "ping", password=new).stdout.strip() == "PONG"
        kept = host.file(ADMIN_LOGIN)
        assert (kept.user, kept.mode, kept.content_string) == ("root", 0o600, new)
        again = platform.deploy(extra_env={**REDIS_ONLY, "BIGDATA_REDIS_PASSWORD": new}, log_name="redis-admin-again")
        assert (again.returncode, again.changed) == (0, 0), again.output[-3000:]
    finally:
        session.close()
        back = platform.deploy(extra_env=REDIS_ONLY, log_name="redis-admin-rotate-back")
        assert back.returncode == 0, back.output[-3000:]
    assert redis_cli(host, "ping", password=old).stdout.strip() == "PONG"
    assert host.check_output("systemctl show -p MainPID --value redis-server") == pid
