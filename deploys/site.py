"""The whole platform, in order: each component on the hosts of its inventory group.

    pyinfra inventories/bigdata.py deploys/site.py
"""
from deploys.common import install_common

install_common()
