"""Redis from Debian's package: ACL users (an admin, and one per service allowed exactly
its channels, keys and commands; the default user off), TLS on its port when tls_enabled
(no plaintext port then), bound to the host address, AOF persistence and a maxmemory
policy. The publisher's pub/sub and latest values live here.

The users live in their own file, included by redis.conf. A change to it alone (a
password rotated, the admin's included, a rule changed) is applied live with ACL
SETUSER: no restart, so every session carries on, and the apps log in with their new
passwords as they are rolled. The deploy applies it logged in as the admin with the
password Redis holds now, which the host keeps for root alone (ADMIN_LOGIN); the admin's
own change comes last, and the file then gets the new one. Only a change to redis.conf
restarts Redis."""
from dataclasses import dataclass
from io import StringIO
from typing import Literal

from pydantic import Field
from pyinfra import host
from pyinfra.api import HiddenValue, QuoteString, StringCommand, deploy
from pyinfra.facts.files import FileContents
from pyinfra.operations import apt, files, server, systemd

from shared import names
from deploys.common import password_digest, template
from deploys.facts import ResolvedAddress
from deploys.health import wait_until
from deploys.settings import ComponentSettings, Port, secret
from deploys.tls import CA_FILE, Settings as TlsSettings, listener_files
from deploys.topology import address



class Settings(ComponentSettings):
    groups = ("redis",)

    redis_port: Port = 6379
    # the admin user's (operators, the deploy's own checks); each service has its own below
    redis_password: str = secret("BIGDATA_REDIS_PASSWORD", min_length=16)
    redis_publisher_password: str = secret("BIGDATA_REDIS_PUBLISHER_PASSWORD", min_length=16)
    redis_live_lane_password: str = secret("BIGDATA_REDIS_LIVE_LANE_PASSWORD", min_length=16)
    redis_dashboard_password: str = secret("BIGDATA_REDIS_DASHBOARD_PASSWORD", min_length=16)
    redis_maxmemory_mb: int = Field(256, ge=16)
    redis_maxmemory_policy: Literal["noeviction", "allkeys-lru", "allkeys-lfu", "volatile-lru",
                                    "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"] = "allkeys-lru"
    redis_appendfsync: Literal["always", "everysec", "no"] = "everysec"


# What each service's connection does (redis-py): log in, name itself, ping
CONNECTION = ("+ping", "+client|setname")  # (Redis 7.0 has no CLIENT SETINFO; redis-py goes on without it)
# ... and a writer of records: its Lua script (HGET, HSET of a key), EVALSHA in a pipeline, PUBLISH
WRITER = (*CONNECTION, "+evalsha", "+eval", "+script|load", "+script|exists", "+hget", "+hset", "+publish")


@dataclass(frozen=True)
class AclUser:
    name: str
    password_setting: str
    rules: tuple[str, ...]  # keys (~), channels (&), commands (+)


ACL_USERS = (
    AclUser(names.REDIS_ADMIN_USER, "redis_password", ("~*", "&*", "+@all")),
    AclUser(names.REDIS_PUBLISHER_USER, "redis_publisher_password",
            (f"~{names.LATEST_KEY_PREFIX}*", f"&{names.ANALYTICS_CHANNEL}", *WRITER)),
    AclUser(names.REDIS_LIVE_LANE_USER, "redis_live_lane_password",
            (f"~{names.LIVE_KEY_PREFIX}*", f"&{names.LIVE_CHANNEL}", *WRITER)),
    AclUser(names.REDIS_DASHBOARD_USER, "redis_dashboard_password",
            (f"~{names.LATEST_KEY_PREFIX}*", f"~{names.LIVE_KEY_PREFIX}*", f"&{names.ANALYTICS_CHANNEL}",
             f"&{names.LIVE_CHANNEL}", *CONNECTION, "+hgetall", "+subscribe", "+unsubscribe")),
)


USERS_FILE = "/etc/redis/users.conf"  # included by redis.conf
ADMIN_LOGIN = "/etc/redis/admin.login"  # the admin's password Redis holds now (root only): what the deploy logs in with


def acl_lines(settings: Settings) -> list[str]:
    """The users file's `user` lines: the default user off, each user with its password's
    SHA-256 (never the password itself) and exactly its rules."""
    lines = ["user default off resetkeys resetchannels -@all"]
    for user in ACL_USERS:
        digest = password_digest(getattr(settings, user.password_setting))
        lines.append(f"user {user.name} on #{digest} resetkeys resetchannels -@all {' '.join(user.rules)}")
    return lines


def held_definitions(lines: list[str] | None) -> dict[str, str]:
    """user -> its definition (what follows its name) in a users file's lines; {} if absent."""
    held = {}
    for line in lines or ():
        words = line.split()
        if len(words) > 2 and words[0] == "user":
            held[words[1]] = " ".join(words[2:])
    return held


def setuser_commands(wanted: list[str], held: dict[str, str]) -> list[list[str]]:
    """ACL SETUSER's arguments for each user whose definition differs from the held one,
    each starting from `reset` (its passwords too: the old one is refused from now on, while
    sessions that logged in with it carry on)."""
    changed = [["ACL", "SETUSER", name, "reset", *definition.split()]
               for name, definition in held_definitions(wanted).items() if held.get(name) != definition]
    # the admin last: the deploy is logged in as the admin until then
    return sorted(changed, key=lambda args: args[2] == names.REDIS_ADMIN_USER)


@deploy("Redis", data_defaults=Settings.defaults())
def install_redis():
    """Install and configure Redis, restart it on a config change (or a new certificate) and
    wait until it answers.

    Args (inventory data, defaults in `Settings`):
        redis_password: the admin user's password (a secret); each service user's its own
        redis_port, redis_maxmemory_mb, redis_maxmemory_policy, redis_appendfsync
        tls_enabled, tls_dir (deploys/tls): TLS on redis_port, and no plaintext port
    """
    settings = Settings.from_host(host)
    tls = listener_files()
    bind_address = host.get_fact(ResolvedAddress, hostname=address())
    apt.packages(name="Install redis-server", packages=["redis-server", "redis-tools"], no_recommends=True)
    if tls:
        server.user(name=f"Redis reads the host's TLS key (group {tls.group})", user="redis", groups=[tls.group],
                    append=True, ensure_home=False)
    wanted = acl_lines(settings)
    setusers = setuser_commands(wanted, held_definitions(host.get_fact(FileContents, path=USERS_FILE)))
    config = files.template(
        name="Configure Redis", src=template(__package__, "redis.conf.j2"), dest="/etc/redis/redis.conf",
        user="redis", group="redis", mode="0640", settings=settings, bind_address=bind_address, tls=tls,
        users_file=USERS_FILE,
    )
    users_file = dict(src=template(__package__, "users.conf.j2"), dest=USERS_FILE, user="redis", group="redis",
                      mode="0640", acl_lines=wanted)
    files.template(name="Redis' ACL users (read at the restart below)", **users_file, _if=config.did_change)
    # apt starts Redis with its stock config before ours is written: restart on change
    restart = systemd.service(name="Restart Redis on a config change", service="redis-server", running=True,
                              enabled=True, restarted=True, _if=config.did_change)
    systemd.service(name="Keep Redis enabled and running", service="redis-server", running=True, enabled=True)
    wait_until("Wait until Redis answers its admin user", answers_check(settings, bind_address, tls and tls.ca),
               timeout=60, _if=restart.did_change)
    if setusers:
        server.shell(
            name=f"Apply the changed users live: {', '.join(args[2] for args in setusers)} (no restart: sessions carry on)",
            commands=[apply_live(cli(settings, bind_address, tls and tls.ca), setusers)],
            _env={"NEW_ADMIN_PASSWORD": HiddenValue(settings.redis_password)},
            _if=lambda: not restart.did_change(),
        )
    # (written once Redis has them: after a failed apply, the next run finds the same changes)
    files.template(name="Redis' ACL users (applied live above)", **users_file, _if=lambda: not config.did_change())
    files.put(name="The admin's password, for the deploy's next login (root only)",
              src=StringIO(settings.redis_password), dest=ADMIN_LOGIN, user="root", group="root", mode="0600")


def apply_live(redis_cli: str, setusers: list[list[str]]) -> StringCommand:
    """One shell command: log in as the admin with the password Redis holds now (the one the
    host kept in ADMIN_LOGIN; where none was kept, or the last run ended before keeping it,
    the new one, $NEW_ADMIN_PASSWORD), then each ACL SETUSER, stopping at the first refused."""
    parts = [f'export REDISCLI_AUTH="$(cat {ADMIN_LOGIN} 2>/dev/null)";', redis_cli,
             'ping 2>/dev/null | grep -qx PONG || REDISCLI_AUTH="$NEW_ADMIN_PASSWORD"']
    for args in setusers:
        parts += ["&&", redis_cli, *map(QuoteString, args), "| grep -qx OK"]
    return StringCommand(*parts)


def cli(settings: Settings, target: str, ca: str | None, user: str = names.REDIS_ADMIN_USER) -> str:
    """redis-cli as a user of Redis at `target` (over TLS, checking the certificate against
    the CA, when on); its password comes from the environment (REDISCLI_AUTH), never the
    command line."""
    secure = f" --tls --cacert {ca}" if ca else ""
    return f"redis-cli --no-auth-warning -h {target} -p {settings.redis_port} --user {user}{secure}"


def answers_check(settings: Settings, target: str, ca: str | None) -> str:
    """Succeeds when Redis at that address answers PING to the admin user (prints PONG).
    The deploy waits on it; `./bigdata status` reports it."""
    return f"REDISCLI_AUTH='{settings.redis_password}' {cli(settings, target, ca)} ping | grep -x PONG"


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform: PING answered."""
    tls = TlsSettings.from_values(values)
    return answers_check(Settings.from_values(values), ip, f"{tls.tls_dir}/{CA_FILE}" if tls.tls_enabled else None), {}
