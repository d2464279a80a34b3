"""The one-node "bigdata" platform: every component on a single host.

    pyinfra inventories/bigdata.py deploys/site.py
    pyinfra inventories/bigdata.py deploys/apps.py   # then the pipeline's apps, on its one-node swarm
"""
from shared.local_hosts import LOCAL_NODE, local_hosts
from deploys.inventory import check_inventory

local = local_hosts(LOCAL_NODE)

zookeeper = kafka = cassandra = redis = spark_master = spark_worker = docker = local
swarm_manager = local  # no Marathon: the apps run on a one-node Docker Swarm (deploys/swarm, deploys/pipeline)

check_inventory(__file__, globals())
