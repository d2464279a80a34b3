"""What ZooKeeper holds that the deploy sets: the ACLs of the root and of the platform's znodes."""
from __future__ import annotations

import shlex

from pyinfra.api import FactBase

MISSING = "Node does not exist"


class ZookeeperAcls(FactBase):
    """path -> its ACL entries (`scheme:id:perms`, sorted), or None where the znode does not
    exist; asked as the admin (zookeeper-admin). None when ZooKeeper does not answer (a fresh
    host, a server not yet secured) or an answer is not understood: the deploy then sets all."""

    def command(self, tool: str, paths: tuple[str, ...]) -> str:
        quoted = " ".join(shlex.quote(path) for path in paths)
        return (f"if [ -x {tool} ] && systemctl is-active -q zookeeper; then for p in {quoted}; do "
                f"echo \"--acl $p\"; echo \"getAcl $p\" | timeout 60 {tool} 2>&1; done; "
                f"else echo --unavailable--; fi")

    def process(self, output):
        return parse_acls(output)


def parse_acls(output: list[str]) -> dict[str, list[str] | None] | None:
    """zkCli's getAcl answers (an entry is two lines: `'digest,'admin:xyz=` then `: cdrwa`),
    each after its `--acl <path>` marker."""
    if not output or "--unavailable--" in output:
        return None
    found: dict[str, list[str] | None] = {}
    path, entry = None, None
    for line in output:
        line = line.strip()
        if line.startswith("--acl "):
            path = line.removeprefix("--acl ")
            found[path] = []
        elif path is None:
            continue
        elif line.startswith(MISSING):
            found[path] = None
        elif line.startswith("'") and "," in line:
            scheme, _, ident = line.partition(",")
            entry = f"{scheme.strip(chr(39))}:{ident.lstrip(chr(39))}"
        elif line.startswith(": ") and entry:
            found[path].append(f"{entry}:{line[2:].strip()}")
            entry = None
    if any(entries == [] for entries in found.values()):  # no answer for a path: unknown
        return None
    return {path: sorted(entries) if entries is not None else None for path, entries in found.items()}
