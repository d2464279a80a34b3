"""The three-node cluster's swarm (inventories/cluster.py's hosts, provisioned by the
`three_node` rig) running the test app of tests/cluster/pipeline_apps in a stack of its
own, for tests/cluster/test_swarm_apps.py: no backends, no pipeline."""
from pathlib import Path

from ctl.hosts import local_hosts
from shared.secrets import secret
from deploys.inventory import check_inventory

APPS = str(Path(__file__).resolve().parent / "pipeline_apps")

docker = swarm_manager = [(name, {**data, "pipeline_apps_dir": APPS, "pipeline_stack": "rigtest",
                                  "pipeline_rollout_timeout_s": 180,
                                  # the pipeline's settings want it (its producer's); this stack has none
                                  "producer_token": secret("BIGDATA_PRODUCER_TOKEN")})
                          for name, data in local_hosts("bigdata-node1", "bigdata-node2", "bigdata-node3")]

check_inventory(__file__, globals())
