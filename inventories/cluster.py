"""A local three-node cluster: every component on every node, replicated.

    pyinfra inventories/cluster.py deploys/site.py
"""
from ctl.hosts import local_hosts
from deploys.settings import check_inventory

nodes = local_hosts("bigdata-node1", "bigdata-node2", "bigdata-node3")

check_inventory(__file__, globals())
