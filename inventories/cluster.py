"""A local three-node cluster: ZooKeeper, Kafka, Cassandra, Spark workers and the
Docker engine on every node, a GlusterFS brick on each (the stream processor's
checkpoint, shared), all three Swarm managers (Raft keeps a majority with
one of them down; each node labelled with its zone, for placement); Redis and the
Spark master on the first.

    pyinfra inventories/cluster.py deploys/site.py
"""
from shared.local_hosts import local_hosts
from deploys.inventory import check_inventory

local = [(name, {**data, "swarm_node_labels": {"zone": zone}})
         for (name, data), zone in zip(local_hosts("bigdata-node1", "bigdata-node2", "bigdata-node3"), "abc")]

zookeeper = kafka = cassandra = spark_worker = glusterfs = docker = swarm_manager = local
redis = spark_master = local[:1]

check_inventory(__file__, globals())
