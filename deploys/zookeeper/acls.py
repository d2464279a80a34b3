"""Who may use ZooKeeper, and which znodes: the one table the deploy and the tests read.

Every session must log in (digest auth, `enforce.auth`; an anonymous session is closed).
`admin` is the super user: the deploy's and the operators'. The root is closed to everyone
else, so no other user creates anything at the top; each client of the platform (Mesos,
Marathon) owns the znode the deploy creates for it, and may read the ones it must.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from shared import secrets

ADMIN = "admin"
PASSWORD_PATTERN = r"^[A-Za-z0-9._~+%!*-]{16,}$"  # no ':', '@' or '/': they would break a zk:// URL
ALL = "cdrwa"  # create, delete, read, write, admin


@dataclass(frozen=True)
class ZkClient:
    user: str  # its digest user
    groups: tuple[str, ...]  # the inventory groups that run it: its znode exists when one has hosts
    path_setting: str  # the setting naming its znode (in its own component's settings)
    default_path: str  # that setting's default
    reads: tuple[str, ...] = ()  # the users whose znodes it reads
    tls: bool = False  # whether its ZooKeeper client speaks TLS (if not, the plaintext port stays open)

    @property
    def password_setting(self) -> str:
        """Its password's key (a secret) in its own component's settings (deploys.mesos,
        deploys.marathon); the zookeeper hosts read it too (group_data/all.py gives it every host)."""
        return f"zookeeper_{self.user}_password"

    @property
    def secret(self) -> str:
        return secrets.variable(self.password_setting)


CLIENTS = (
    # masters and agents alike: the masters elect a leader there, the agents find it there.
    # Neither Mesos' C client (ZooKeeper 3.4) nor Marathon's speaks TLS.
    ZkClient("mesos", ("mesos_master", "mesos_agent"), "mesos_zk_path", "/mesos"),
    # its state, and the leading Mesos master it finds in Mesos' znode
    ZkClient("marathon", ("marathon",), "marathon_zk_path", "/marathon", reads=("mesos",)),
)


def client(user: str) -> ZkClient:
    return next(each for each in CLIENTS if each.user == user)


def digest_id(user: str, password: str) -> str:
    """The id that ZooKeeper's digest scheme gives a session logged in as user:password
    (DigestAuthenticationProvider): `user:base64(sha1("user:password"))`."""
    return f"{user}:{base64.b64encode(hashlib.sha1(f'{user}:{password}'.encode()).digest()).decode()}"


def acl(entries: dict[str, str]) -> list[str]:
    """ZooKeeper's ACL entries (`digest:<id>:<perms>`), sorted as ZooKeeper's tools print them
    back: entries maps a digest id to its permissions."""
    return sorted(f"digest:{digest}:{perms}" for digest, perms in entries.items())


def wanted(admin_password: str, present: dict[ZkClient, tuple[str, str]]) -> dict[str, list[str]]:
    """path -> its ACL: the root the admin's only; each present client's znode
    (present: client -> (its path, its password)) its own and the admin's, readable by the
    clients that read it."""
    admin = digest_id(ADMIN, admin_password)
    znodes = {"/": acl({admin: ALL})}
    for each, (path, password) in present.items():
        entries = {admin: ALL, digest_id(each.user, password): ALL}
        for reader, (_path, reader_password) in present.items():
            if each.user in reader.reads:
                entries[digest_id(reader.user, reader_password)] = "r"
        znodes[path] = acl(entries)
    return znodes


def commands(wanted: dict[str, list[str]], current: dict[str, list[str] | None] | None) -> list[str]:
    """zkCli commands (run as the admin) that make ZooKeeper hold `wanted` (path -> ACL), given
    what it holds (`current`: path -> ACL, None for a missing znode; None when unknown): a
    missing znode is created (a nested one's parents too, the admin's only, like the root),
    and an ACL that differs is set."""
    admin_only = ",".join(wanted["/"])
    lines = []
    for path, entries in wanted.items():
        if current is not None and current.get(path) == entries:
            continue
        if path != "/" and (current is None or current.get(path) is None):
            for parent in [path[:i] for i in range(1, len(path)) if path[i] == "/"]:
                lines += [f"create {parent}", f"setAcl {parent} {admin_only}"]
            lines.append(f"create {path}")
        lines.append(f"setAcl {path} {','.join(entries)}")
    return lines
