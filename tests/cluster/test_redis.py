"""deploys/redis: password, bound to the host address, AOF, maxmemory policy."""
import os

import pytest


@pytest.fixture
def redis_hosts(platform):
    # Redis runs on the hosts of the redis group: the first host on both inventories
    return platform.hosts[:1]


def redis_cli(host, command, password=None, target=None):
    auth = f"REDISCLI_AUTH='{password}' " if password else ""
    target = target or host.backend.name
    return host.run(f"{auth}redis-cli --no-auth-warning -h {target} {command}")


def test_redis_runs_and_is_enabled(redis_hosts):
    for host in redis_hosts:
        service = host.service("redis-server")
        assert service.is_running and service.is_enabled


def test_command_without_auth_is_refused(redis_hosts):
    for host in redis_hosts:
        reply = redis_cli(host, "set probe 1")
        assert "NOAUTH" in reply.stdout + reply.stderr


def test_command_with_auth_works(redis_hosts):
    password = os.environ["BIGDATA_REDIS_PASSWORD"]
    for host in redis_hosts:
        assert redis_cli(host, "set probe 1", password).stdout.strip() == "OK"
        assert redis_cli(host, "get probe", password).stdout.strip() == "1"


def test_wrong_password_is_refused(redis_hosts):
    for host in redis_hosts:
        reply = redis_cli(host, "ping", "not-the-password")
        assert "PONG" not in reply.stdout
        assert "WRONGPASS" in reply.stdout + reply.stderr


def test_reachable_from_other_hosts_on_the_host_address(platform, redis_hosts):
    password = os.environ["BIGDATA_REDIS_PASSWORD"]
    target = redis_hosts[0].backend.name
    for host in platform.hosts:
        # redis-tools is only on the Redis host; others speak RESP over netcat (a base package)
        reply = host.run(f"printf 'AUTH {password}\\r\\nPING\\r\\n' | nc -w 2 {target} 6379")
        assert reply.rc == 0 and "+OK" in reply.stdout and "+PONG" in reply.stdout


def test_durability_and_memory_policy(redis_hosts):
    password = os.environ["BIGDATA_REDIS_PASSWORD"]
    for host in redis_hosts:
        config = {key: redis_cli(host, f"config get {key}", password).stdout.split()[1]
                  for key in ("appendonly", "maxmemory-policy", "maxmemory", "protected-mode")}
        assert config == {"appendonly": "yes", "maxmemory-policy": "allkeys-lru",
                          "maxmemory": str(256 * 1024 * 1024), "protected-mode": "yes"}


def test_config_is_not_world_readable(redis_hosts):
    for host in redis_hosts:
        config = host.file("/etc/redis/redis.conf")
        assert config.user == "redis" and config.mode == 0o640
