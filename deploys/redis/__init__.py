"""Redis from Debian's package: password, bound to the host address, AOF
persistence and a maxmemory policy. The publisher's pub/sub and latest values live here."""
from typing import Literal

from pydantic import Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, systemd

from deploys.common import template
from deploys.facts import ResolvedAddress
from deploys.health import wait_until
from deploys.settings import ComponentSettings, Port
from deploys.topology import address


class Settings(ComponentSettings):
    groups = ("redis",)

    redis_port: Port = 6379
    redis_password: str = Field(min_length=16, description=(
        "a secret: set BIGDATA_REDIS_PASSWORD in the environment or in inventories/secrets.env"))
    redis_maxmemory_mb: int = Field(256, ge=16)
    redis_maxmemory_policy: Literal["noeviction", "allkeys-lru", "allkeys-lfu", "volatile-lru",
                                    "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"] = "allkeys-lru"
    redis_appendfsync: Literal["always", "everysec", "no"] = "everysec"


@deploy("Redis", data_defaults=Settings.defaults())
def install_redis():
    """Install and configure Redis, restart it on a config change and wait until it answers.

    Args (inventory data, defaults in `Settings`):
        redis_password: required secret; clients AUTH with it
        redis_port, redis_maxmemory_mb, redis_maxmemory_policy, redis_appendfsync
    """
    settings = Settings.from_host(host)
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    apt.packages(name="Install redis-server", packages=["redis-server", "redis-tools"], no_recommends=True)
    config = files.template(
        name="Configure Redis", src=template(__package__, "redis.conf.j2"), dest="/etc/redis/redis.conf",
        user="redis", group="redis", mode="0640", settings=settings, bind_address=bind_address,
    )
    # apt starts Redis with its stock config before ours is written: restart on change
    systemd.service(name="Restart Redis on a config change", service="redis-server", running=True,
                    enabled=True, restarted=True, _if=config.did_change)
    systemd.service(name="Keep Redis enabled and running", service="redis-server", running=True, enabled=True)
    wait_until("Wait until Redis answers with AUTH", answers_check(settings, bind_address), timeout=60,
               _if=config.did_change)


def answers_check(settings: Settings, bind_address: str) -> str:
    """Succeeds when Redis at that address answers PING with the password (prints PONG).
    The deploy waits on it; `./bigdata status` reports it."""
    return (f"REDISCLI_AUTH='{settings.redis_password}' redis-cli -h {bind_address} -p {settings.redis_port} ping "
            f"| grep -x PONG")


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform: PING answered."""
    return answers_check(Settings.from_values(values), ip), {}
