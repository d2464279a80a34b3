"""deploys/glusterfs: a volume replicated three times, so the inventory's glusterfs
group is 1 host or a multiple of 3 (refused otherwise before any host is touched);
the mount unit's name is systemd's; the facts read what `gluster` prints; the
three-node inventory shares the stream processor's checkpoint directory."""
import runpy
import shutil
import subprocess

import pytest

from ctl import ROOT
from deploys import glusterfs
from deploys.inventory import check_inventory
from inventory_kit import never_contacted, refused, write_inventory
from services.stream_processor.settings import CHECKPOINT


@pytest.mark.parametrize("count", [2, 4, 5])
def test_a_group_that_cannot_hold_three_replicas_is_refused(tmp_path, count):
    refused(tmp_path, {"glusterfs": never_contacted(count)},
            rf"glusterfs: {count} hosts: a volume is replicated 3 times")


@pytest.mark.parametrize("count", [1, 3, 6])
def test_one_host_or_sets_of_three_are_accepted(tmp_path, count):
    path = write_inventory(tmp_path)
    assert len(check_inventory(path, {"glusterfs": never_contacted(count)})) == count


@pytest.mark.parametrize("key, value, says", [
    ("glusterfs_mount", "'shared'", "glusterfs_mount: String should match pattern"),
    ("glusterfs_volume", "'a volume'", "glusterfs_volume: String should match pattern"),
    ("glusterfs_ping_timeout_s", "0", "glusterfs_ping_timeout_s: Input should be greater than or equal to 1"),
])
def test_bad_settings_are_refused_naming_the_key(tmp_path, key, value, says):
    refused(tmp_path, {"glusterfs": never_contacted(1)}, says, all_data=f"{key} = {value}\n")


@pytest.mark.parametrize("path", ["/var/lib/bigdata/spark/checkpoints", "/srv/shared-dir/a b", "/mnt/x.y_z"])
def test_the_mount_unit_is_named_as_systemd_names_it(path):
    escape = shutil.which("systemd-escape")
    if escape is None:
        pytest.skip("systemd-escape is not installed here")
    wanted = subprocess.run([escape, "--path", "--suffix=mount", path], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert glusterfs.unit_name(path) == wanted


def test_the_facts_read_gluster_output():
    pool = ["UUID\t\t\t\t\tHostname     \tState",
            "5170e867-8be5-46f6-8446-d8cb85e065e1\tnode2        \tConnected ",
            "0c6f1d7e-0a0a-4c49-9d1e-4e9b0f1f7a11\tlocalhost    \tConnected "]
    assert glusterfs.GlusterPeers().process(pool[1:]) == {"node2"}
    info = ["", "Volume Name: bigdata", "Type: Replicate", "Status: Started", "Number of Bricks: 1 x 3 = 3",
            "Bricks:", "Brick1: node1:/var/lib/bigdata/glusterfs/brick", "Options Reconfigured:",
            "network.ping-timeout: 10", "performance.client-io-threads: off"]
    assert glusterfs.GlusterVolume().process(info) == {
        "status": "Started", "bricks": ["node1:/var/lib/bigdata/glusterfs/brick"],
        "options": {"network.ping-timeout": "10", "performance.client-io-threads": "off"}}
    assert glusterfs.GlusterVolume().process([]) is None


def test_the_cluster_shares_the_stream_processors_checkpoint_on_every_node():
    namespace = runpy.run_path(str(ROOT / "inventories/cluster.py"))
    assert [name for name, _ in namespace["glusterfs"]] == [name for name, _ in namespace["local"]]
    assert CHECKPOINT.startswith(glusterfs.Settings().glusterfs_mount + "/")
    assert "glusterfs" not in runpy.run_path(str(ROOT / "inventories/bigdata.py")), "one node: a plain directory"
