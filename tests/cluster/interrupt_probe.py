"""Run only by test_rig.py: starts rig hosts, says so, then waits to be interrupted."""
import os
import time
from pathlib import Path


def test_hold_hosts(rig):
    platform = rig("inventories/bigdata.py", "tests/cluster/noop_deploy.py")
    Path(os.environ["RIG_PROBE_READY"]).write_text(" ".join(platform.names))
    time.sleep(300)
