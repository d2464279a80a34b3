"""The one-node "bigdata" platform: every component on a single host.

    pyinfra inventories/bigdata.py deploys/site.py
    pyinfra inventories/bigdata.py deploys/pipeline.py   # then the pipeline's apps
"""
from ctl.hosts import LOCAL_NODE, local_hosts
from deploys.settings import check_inventory

local = local_hosts(LOCAL_NODE)

zookeeper = kafka = cassandra = redis = spark_master = spark_worker = docker = local
pipeline = local  # no Marathon: the apps run as containers under systemd (deploys/pipeline)

check_inventory(__file__, globals())
