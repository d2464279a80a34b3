"""GlusterFS: one directory every host of the `glusterfs` group sees the same, for
what must survive a node: the stream processor's checkpoint (its offsets and window
state, written by the driver wherever Swarm runs it and by Spark's executors on every
worker). On one node a plain directory does; on several, a task moved to another node
must find the checkpoint there.

One replicated volume (`glusterfs_volume`) with a brick on each host: replica 3 on
three hosts (one may be down, the other two keep a quorum), 3 × n hosts as n
replicated sets; 1 host is a volume of one brick. 2 (or any other count) is refused:
two replicas cannot tell which copy is right once they disagree.

Each host mounts the volume (FUSE, a systemd mount unit) at `glusterfs_mount`, by
default the Spark data dir's checkpoints (deploys/spark), where the stream processor's
definition (marathon/apps/stream-processor.json) already mounts its checkpoint from:
neither the app nor the job knows the directory is shared. The units named in
`glusterfs_mount_before` (the Docker engine, Spark's worker) start after the mount.

A volume that exists keeps its bricks: a group that grew or shrank fails the deploy
with what to do (`gluster volume add-brick` / `replace-brick`, then a rebalance).

Ports: 24007/tcp (glusterd) and one port per brick from 49152/tcp up, between the
hosts. Bricks live on the root file system by default (`force`: GlusterFS prefers a
dedicated one; give `glusterfs_brick_dir` on a disk of its own in production).
"""
import re

from pydantic import Field
from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from deploys import common
from deploys.common import template
from deploys.health import wait_until
from deploys.settings import ComponentSettings
from deploys.topology import address, members

GROUP = "glusterfs"
REPLICA = 3


class Settings(ComponentSettings):
    groups = (GROUP,)

    glusterfs_volume: str = Field("bigdata", pattern=r"^[A-Za-z0-9_-]+$")
    glusterfs_brick_dir: str = Field("/var/lib/bigdata/glusterfs/brick", pattern=r"^/")
    # where every host mounts the volume (the stream processor's checkpoints by default)
    glusterfs_mount: str = Field("/var/lib/bigdata/spark/checkpoints", pattern=r"^/")
    # how long a client waits for a brick that stopped answering before going on without it
    # (GlusterFS' default, 42 s, stalls every write to the volume that long when a node dies)
    glusterfs_ping_timeout_s: int = Field(10, ge=1, le=1800)
    # systemd units of these hosts that start only after the mount (when they exist)
    glusterfs_mount_before: list[str] = ["docker.service", "spark-worker.service"]

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        count = group_sizes.get(GROUP, 0)
        if count > 1 and count % REPLICA:
            return [(GROUP, f"{count} hosts: a volume is replicated {REPLICA} times (two copies cannot tell which "
                            f"is right once they disagree), so use 1 host or a multiple of {REPLICA}")]
        return []


class GlusterPeers(FactBase):
    """The addresses this host's glusterd has in its trusted pool (itself excluded);
    None before GlusterFS is installed."""

    def command(self):
        return "gluster pool list 2>/dev/null | tail -n +2 || true"

    def process(self, output):
        return {line.split()[1] for line in output if len(line.split()) >= 3 and line.split()[1] != "localhost"}


class GlusterVolume(FactBase):
    """{"status": Created|Started|Stopped, "bricks": [host:path, ...], "options": {name: value}}
    of a volume, or None when it does not exist (or GlusterFS is not installed)."""

    def command(self, volume: str):
        return f"gluster volume info {volume} 2>/dev/null || true"

    def process(self, output):
        info, bricks, options, in_options = {}, [], {}, False
        for line in output:
            key, _, value = line.partition(": ")
            if line.startswith("Options Reconfigured"):
                in_options = True
            elif in_options and value:
                options[key.strip()] = value.strip()
            elif re.fullmatch(r"Brick\d+", key.strip()):
                bricks.append(value.strip())
            elif value:
                info[key.strip()] = value.strip()
        return {"status": info["Status"], "bricks": bricks, "options": options} if "Status" in info else None


def unit_name(path: str) -> str:
    """systemd's name for the mount unit of `path` (`systemd-escape --path --suffix=mount`)."""
    escaped = "-".join("".join(c if re.fullmatch(r"[A-Za-z0-9:_.]", c) else f"\\x{ord(c):02x}" for c in part)
                       for part in path.strip("/").split("/"))
    return f"{escaped}.mount"


@deploy("GlusterFS", data_defaults=Settings.defaults())
def install_glusterfs():
    """Make this host a brick of the shared volume and mount the volume.

    Args (inventory data, defaults in `Settings`):
        glusterfs_volume, glusterfs_brick_dir, glusterfs_mount, glusterfs_ping_timeout_s,
        glusterfs_mount_before
    """
    settings = Settings.from_host(host)
    user = common.Settings.from_host(host).service_user
    hosts = members(GROUP)
    first, others = hosts[0], [address(m) for m in hosts[1:]]
    volume = settings.glusterfs_volume

    apt.packages(name="Install GlusterFS", packages=["glusterfs-server", "glusterfs-client"], no_recommends=True)
    systemd.service(name="Keep glusterd enabled and running", service="glusterd", running=True, enabled=True)
    # a brick's root is the volume's root: the same owner and mode as the mount's (below)
    files.directory(name=f"Create the brick {settings.glusterfs_brick_dir}", path=settings.glusterfs_brick_dir,
                    user=user, group=user, mode="0750")

    if host.name == first.name:  # the pool and the volume are the first host's to make, after every install
        pool = host.get_fact(GlusterPeers) or set()
        missing = [peer for peer in others if peer not in pool]
        for peer in missing:
            server.shell(name=f"Add {peer} to the GlusterFS pool", commands=[f"gluster peer probe {peer}"])
        if missing:
            wait_until(f"Wait until the {len(others)} peer(s) are connected",
                       f"test $(gluster pool list | grep -c Connected) -eq {len(hosts)}", timeout=60)
        state = host.get_fact(GlusterVolume, volume=volume)
        bricks = [f"{address(m)}:{settings.glusterfs_brick_dir}" for m in hosts]
        if state is None:
            replica = f"replica {REPLICA} " if len(hosts) > 1 else ""
            server.shell(name=f"Create the GlusterFS volume {volume} ({replica or 'one brick'}{len(hosts)} host(s))",
                         commands=[f"gluster volume create {volume} {replica}{' '.join(bricks)} force"])
        elif state["bricks"] != bricks:
            raise DeployError(f"GlusterFS volume {volume} has the bricks {', '.join(state['bricks'])}, the inventory "
                              f"wants {', '.join(bricks)}: the deploy does not move data between bricks; do it with "
                              f"`gluster volume add-brick`/`replace-brick` (then rebalance) on {first.name}")
        timeout = str(settings.glusterfs_ping_timeout_s)
        if (state or {}).get("options", {}).get("network.ping-timeout") != timeout:
            server.shell(name=f"Volume {volume}: network.ping-timeout {timeout}s",
                         commands=[f"gluster volume set {volume} network.ping-timeout {timeout}"])
        if (state or {}).get("status") != "Started":
            server.shell(name=f"Start the GlusterFS volume {volume}", commands=[f"gluster volume start {volume}"])

    mount = unit_name(settings.glusterfs_mount)
    files.directory(name=f"Create {settings.glusterfs_mount}", path=settings.glusterfs_mount)
    unit = files.template(name=f"The mount of {volume} at {settings.glusterfs_mount}",
                          src=template(__package__, "shared.mount.j2"), dest=f"/etc/systemd/system/{mount}",
                          mode="0644", settings=settings,
                          backups=[address(m) for m in hosts if m.name != host.name])
    drop_ins = [files.template(name=f"Start {service} after the mount",
                               src=template(__package__, "after-shared-mount.conf.j2"),
                               dest=f"/etc/systemd/system/{service}.d/after-shared-mount.conf", mode="0644",
                               mount_unit=mount)
                for service in settings.glusterfs_mount_before]
    systemd.daemon_reload(name="Reload systemd's units", _if=any_changed(unit, *drop_ins))
    systemd.service(name=f"Mount {volume} at {settings.glusterfs_mount}", service=mount, running=True, enabled=True)
    # the mounted volume's root: the platform's service user's, like the directory under it
    files.directory(name=f"Own {settings.glusterfs_mount}", path=settings.glusterfs_mount, user=user, group=user,
                    mode="0750")
