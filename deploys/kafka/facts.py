"""What a Kafka host and cluster look like before a run: facts are read while
pyinfra plans, so the deploy adds an operation only where something must change
(a second run then reports no changes)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyinfra.api import FactBase

from deploys.facts import FirstLine


class StorageClusterId(FirstLine):
    """The cluster id a KRaft log directory was formatted with; None when it was never formatted."""

    def command(self, log_dir: str) -> str:
        return f"sed -n 's/^cluster\\.id=//p' {log_dir}/meta.properties 2>/dev/null || true"


@dataclass
class ClusterState:
    """Topics, SCRAM users and ACLs as the running cluster reports them."""

    topics: dict[str, dict] = field(default_factory=dict)  # name -> partitions, replication, configs
    users: set[str] = field(default_factory=set)
    # (principal, resource type, resource name, pattern type, operation): deploys.kafka.users.Acl
    acls: set[tuple[str, str, str, str, str]] = field(default_factory=set)


TOPIC_LINE = re.compile(r"^Topic: (\S+)\s+TopicId: \S+\s+PartitionCount: (\d+)\s+ReplicationFactor: (\d+)"
                        r"\s+Configs: ?(.*)$")
USER_LINE = re.compile(r"^SCRAM credential configs for user-principal '([^']+)' are")
ACL_RESOURCE = re.compile(r"ACLs for resource `ResourcePattern\(resourceType=(\w+), name=(.+), patternType=(\w+)\)`")
ACL_ENTRY = re.compile(r"\(principal=(\S+), host=\*, operation=(\w+), permissionType=ALLOW\)")


class KafkaClusterState(FactBase):
    """Topics, users and ACLs, asked from the running cluster with the admin's
    credentials; None when no broker answers yet (a fresh host)."""

    def command(self, tool: str, bootstrap: str, admin_config: str) -> str:
        common = f"--bootstrap-server {bootstrap} --command-config {admin_config}"
        # a fresh host has neither the tool nor a running broker: report nothing
        return (f"if [ -x {tool} ] && [ -f {admin_config} ] && systemctl is-active -q kafka; then "
                f"timeout 60 {tool} org.apache.kafka.tools.TopicCommand {common} --describe --exclude-internal"
                f" && echo '--users--' "
                f"&& timeout 60 {tool} org.apache.kafka.tools.ConfigCommand {common} --describe --entity-type users"
                f" && echo '--acls--' "
                f"&& timeout 60 {tool} org.apache.kafka.tools.AclCommand {common} --list"
                f" || echo '--unavailable--'; fi")

    def process(self, output):
        if not output or "--unavailable--" in output or "--acls--" not in output:
            return None
        state, section, resource = ClusterState(), "topics", None
        for line in output:
            line = line.strip()
            if line in ("--users--", "--acls--"):
                section = line.strip("-")
            elif section == "topics" and (match := TOPIC_LINE.match(line)):
                configs = dict(item.split("=", 1) for item in match[4].split(",") if "=" in item)
                state.topics[match[1]] = {"partitions": int(match[2]), "replication": int(match[3]),
                                          "configs": configs}
            elif section == "users" and (match := USER_LINE.match(line)):
                state.users.add(match[1])
            elif section == "acls":
                if match := ACL_RESOURCE.search(line):
                    resource = (match[1], match[2], match[3])
                elif resource and (match := ACL_ENTRY.search(line)):
                    state.acls.add((match[1], *resource, match[2]))
        return state


class AdminPasswordDigest(FirstLine):
    """SHA-256 of the password in the admin's client settings on the host (root only: the
    password itself never leaves the host); None when there are none yet (a fresh host)."""

    def command(self, path: str) -> str:
        return (f"if [ -f {path} ]; then sed -n 's/^sasl\\.jaas\\.config=.* password=\"\\([^\"]*\\)\";$/\\1/p' {path} "
                f"| tr -d '\\n' | sha256sum | cut -d' ' -f1; fi")


class InterBrokerListener(FirstLine):
    """The listener the brokers' configuration names for their own traffic (BROKER: they log
    in as the admin; INTERNAL: by certificate); None before the first run."""

    def command(self, path: str) -> str:
        return f"sed -n 's/^inter\\.broker\\.listener\\.name=//p' {path} 2>/dev/null || true"
