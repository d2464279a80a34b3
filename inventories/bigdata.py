"""The one-node "bigdata" platform: every component on a single host.

    pyinfra inventories/bigdata.py deploys/site.py
"""
from ctl.hosts import local_hosts
from deploys.settings import check_inventory

bigdata = local_hosts("bigdata")

check_inventory(__file__, globals())
