"""The whole platform, in order: each component on the hosts of its inventory
group, each waiting until its service answers before the next one starts.

    pyinfra inventories/bigdata.py deploys/site.py
"""
from pyinfra import host

from deploys.cassandra import install_cassandra
from deploys.common import install_common
from deploys.kafka import install_kafka
from deploys.redis import install_redis
from deploys.spark import install_spark
from deploys.zookeeper import install_zookeeper

install_common()
for group, install in (
    ("zookeeper", install_zookeeper),
    ("kafka", install_kafka),
    ("cassandra", install_cassandra),
    ("redis", install_redis),
):
    if group in host.groups:
        install()
if {"spark_master", "spark_worker"} & set(host.groups):
    install_spark()
