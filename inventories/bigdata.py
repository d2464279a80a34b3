"""The one-node "bigdata" platform: every component on a single host.

    pyinfra inventories/bigdata.py deploys/site.py
"""
from ctl.hosts import local_hosts
from deploys.settings import check_inventory

local = local_hosts("bigdata")

zookeeper = kafka = cassandra = redis = spark_master = spark_worker = docker = local

check_inventory(__file__, globals())
