"""Docker Swarm mode: the cluster orchestrator built into the Docker engine, which
runs the pipeline's apps where no Mesos and Marathon run (deploys/pipeline).

The first host of `swarm_manager` initialises the swarm; the other managers join it
as managers (1 or 3 of them: Raft needs a majority, so 2 would tolerate no more
failures than 1), the `swarm_worker` hosts as workers. A host already in the swarm
is left as it is, so a second run changes nothing. Join tokens are read from the
first manager while the deploy runs and handed to the joining engine on its standard
input: they never enter the inventory, the repository, a command line pyinfra
prints, or a log.

Routing mesh: the kernels this platform runs on have no IPVS, which Swarm's
ingress network and service VIPs need; the apps run on the host network instead
(marathon/swarm.py), and the ingress network is removed after `init` so that no
service can ask for it and wait forever.

Ports: `swarm_port` (2377/tcp, the managers' Raft and API) and
`swarm_data_path_port` (4789/udp, VXLAN of overlay networks, chosen at init) are
settings; 7946/tcp+udp (gossip between nodes) is fixed by the engine.
Node labels (`swarm_node_labels`, per host) are kept as the inventory says, for
placement constraints (`node.labels.<name> == <value>`).
"""
import json
import re
import shlex

from pydantic import Field
from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.api.command import StringCommand
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Hostname
from pyinfra.operations import python, server

from deploys.settings import ComponentSettings, Port
from deploys.topology import address, members

MANAGERS, WORKERS = "swarm_manager", "swarm_worker"


class Settings(ComponentSettings):
    groups = (MANAGERS, WORKERS)

    # what the other nodes reach this one by: an address or an interface name (eth1);
    # None: the host's first address (`hostname -I`)
    swarm_advertise_address: str | None = None
    swarm_port: Port = 2377            # managers: Raft and the swarm API (tcp)
    swarm_data_path_port: int = Field(4789, ge=1024, le=65535)  # VXLAN of overlay networks (udp), set at init
    # this host's node labels, for placement (e.g. {"disk": "ssd"}); labels not named here are removed
    swarm_node_labels: dict[str, str] = {}

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        managers = group_sizes.get(MANAGERS, 0)
        if group_sizes.get(WORKERS) and not managers:
            return [(MANAGERS, "missing: swarm workers need a manager to join")]
        if managers and managers % 2 == 0:
            return [(MANAGERS, f"{managers} managers: Raft needs a majority, so {managers} tolerate no more "
                               f"failures than {managers - 1}; use an odd number (1, 3 or 5)")]
        bad = [key for key in self.swarm_node_labels if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", key)]
        if bad:
            return [("swarm_node_labels", f"{bad[0]!r}: a label name is lower-case letters, digits, . _ -")]
        return []


class SwarmNode(FactBase):
    """This engine's swarm membership: {"state": inactive|pending|active|error|locked|absent,
    "manager": bool}. "absent": no Docker engine answers (yet)."""

    def command(self):
        return ("docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null "
                "|| echo absent false")

    def process(self, output):
        state, manager = (output[0].split() + ["false"])[:2] if output else ("absent", "false")
        return {"state": state, "manager": manager == "true"}


class AdvertiseAddress(FactBase):
    """The IPv4 address other hosts reach this one by: its inventory address as the host
    itself resolves it, unless that is a loopback address (Debian maps the host's own
    name to 127.0.1.1), then the source address of its default route, then the first of
    `hostname -I` (which lists Docker's own bridge first once the engine runs)."""

    def command(self, address: str):
        return (f"getent ahostsv4 {shlex.quote(address)} | awk 'NR == 1 {{print $1}}'; "
                "ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'; "
                "hostname -I | cut -d' ' -f1")

    def process(self, output):
        found = [line.strip() for line in output if line.strip() and not line.startswith("127.")]
        return found[0] if found else None


class NodeLabels(FactBase):
    """Seen from a manager: node hostname -> its labels (empty when no swarm answers)."""

    def command(self):
        return ("docker node ls -q 2>/dev/null | xargs -r docker node inspect "
                "--format '{{.Description.Hostname}} {{json .Spec.Labels}}' 2>/dev/null || true")

    def process(self, output):
        labels = {}
        for line in output:
            name, _, value = line.partition(" ")
            if name:
                labels[name] = json.loads(value or "{}") or {}
        return labels


# The fact is read before the engine may be installed ("absent"); an engine installed over an
# old /var/lib/docker comes up in that state's swarm: refuse with what to do, not Docker's words.
_STILL_INACTIVE = ("state=$(docker info --format '{{.Swarm.LocalNodeState}}'); [ \"$state\" = inactive ] || "
                   "{ echo \"this engine came up with swarm state $state (an old /var/lib/docker/swarm): "
                   "run docker swarm leave --force there, then deploy again\" >&2; exit 1; }")


def advertise_address(member) -> str:
    settings = Settings.from_values(member.data)
    found = settings.swarm_advertise_address or member.get_fact(AdvertiseAddress, address=address(member))
    if not found:
        raise DeployError(f"{member.name}: no address to advertise to the swarm: set swarm_advertise_address")
    return found


def leader():
    """The manager that initialises the swarm: the first of swarm_manager."""
    return members(MANAGERS)[0]


def _join(joining, first, role: str, advertise: str, port: int, remote: str) -> None:
    """Join `joining` to the swarm of `first` at `remote` (run while the deploy runs: the
    token exists only once `first` has initialised the swarm). The token travels on
    standard input."""
    ok, output = first.run_shell_command(StringCommand(f"docker swarm join-token -q {role}"))
    token = output.stdout.strip() if ok else ""
    if not token:
        raise DeployError(f"{first.name} gave no {role} join token: {output.stderr[-300:]}")
    ok, output = joining.run_shell_command(
        StringCommand(f'read -r token && docker swarm join --token "$token" --advertise-addr {advertise} '
                      f'--listen-addr {advertise}:{port} {remote}'), _stdin=token)
    if not ok:
        raise DeployError(f"{joining.name} could not join the swarm at {remote}: {output.stderr[-500:]}")


@deploy("Docker Swarm", data_defaults=Settings.defaults())
def install_swarm():
    """Make this host a node of the platform's swarm (its Docker engine: deploys/docker).

    Args (inventory data, defaults in `Settings`):
        swarm_advertise_address, swarm_port, swarm_data_path_port, swarm_node_labels
    """
    if "docker" not in host.groups:
        raise DeployError(f"{host.name} is a swarm node: put it in the docker group too (its engine)")
    settings = Settings.from_host(host)
    manager = MANAGERS in host.groups
    first = leader()
    advertise = advertise_address(host)
    node = host.get_fact(SwarmNode)
    if node["state"] in ("pending", "error", "locked"):
        raise DeployError(f"{host.name}: its engine's swarm state is {node['state']!r}: see `docker info` there; "
                          f"`docker swarm leave --force` lets the deploy join it again")
    if node["state"] == "active" and manager and not node["manager"]:
        raise DeployError(f"{host.name} is a worker of the swarm but in {MANAGERS}: promote it "
                          f"(`docker node promote {host.get_fact(Hostname)}` on a manager) or move it to {WORKERS}")

    if host.name == first.name and node["state"] != "active":
        server.shell(
            name=f"Initialise the swarm (advertised at {advertise}:{settings.swarm_port})",
            commands=[_STILL_INACTIVE,
                      f"docker swarm init --advertise-addr {advertise} --listen-addr {advertise}:{settings.swarm_port} "
                      f"--data-path-port {settings.swarm_data_path_port}",
                      # no IPVS here: the routing mesh cannot work, so nothing may ask for it
                      "echo y | docker network rm ingress"])
    elif host.name != first.name and node["state"] != "active":
        role = "manager" if manager else "worker"
        remote = f"{advertise_address(first)}:{Settings.from_values(first.data).swarm_port}"
        python.call(name=f"Join the swarm at {remote} as a {role}", function=_join, joining=host, first=first,
                    role=role, advertise=advertise, port=settings.swarm_port, remote=remote)

    if host.name == first.name:  # labels are a manager's to set; after every join (operations run in order)
        current = host.get_fact(NodeLabels) or {}
        for member in members(MANAGERS) + members(WORKERS):
            name = member.get_fact(Hostname)
            wanted = Settings.from_values(member.data).swarm_node_labels
            have = current.get(name, {})
            if have == wanted:
                continue
            changes = [f"--label-add {shlex.quote(f'{key}={value}')}" for key, value in sorted(wanted.items())] + \
                      [f"--label-rm {key}" for key in sorted(set(have) - set(wanted))]
            if changes:
                server.shell(name=f"Node labels of {name}: {wanted or 'none'}",
                             commands=[f"docker node update {' '.join(changes)} {name}"])
