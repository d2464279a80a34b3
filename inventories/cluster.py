"""A local three-node cluster: ZooKeeper, Kafka, Cassandra, Spark workers and the
Docker engine (what Mesos agents run containers with) on every node; Redis and the
Spark master on the first.

    pyinfra inventories/cluster.py deploys/site.py
"""
from ctl.hosts import local_hosts
from deploys.settings import check_inventory

local = local_hosts("bigdata-node1", "bigdata-node2", "bigdata-node3")

zookeeper = kafka = cassandra = spark_worker = docker = local
redis = spark_master = local[:1]

check_inventory(__file__, globals())
