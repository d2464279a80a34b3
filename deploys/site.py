"""The whole platform, in order: each component on the hosts of its inventory
group, each waiting until its service answers before the next one starts.

    pyinfra inventories/bigdata.py deploys/site.py

BIGDATA_COMPONENTS=zookeeper,kafka limits a run to those components (the common
base always runs), e.g. to roll out a Kafka config change alone.
"""
import os

from pyinfra import host

from deploys.cassandra import install_cassandra
from deploys.common import install_common
from deploys.docker import install_docker
from deploys.glusterfs import install_glusterfs
from deploys.kafka import install_kafka
from deploys.marathon import install_marathon
from deploys.mesos import install_mesos
from deploys.progress import report
from deploys.redis import install_redis
from deploys.spark import install_spark
from deploys.swarm import install_swarm
from deploys.zookeeper import install_zookeeper

COMPONENTS = {  # in deploy order: component -> (its groups, its deploy)
    "zookeeper": (("zookeeper",), install_zookeeper),
    "kafka": (("kafka",), install_kafka),
    "cassandra": (("cassandra",), install_cassandra),
    "redis": (("redis",), install_redis),
    "spark": (("spark_master", "spark_worker"), install_spark),
    "glusterfs": (("glusterfs",), install_glusterfs),  # the directory a moved task finds again
    "docker": (("docker",), install_docker),  # the Mesos agents' containerizer, Swarm's engine
    "swarm": (("swarm_manager", "swarm_worker"), install_swarm),  # runs the apps where no Marathon does
    "mesos": (("mesos_master", "mesos_agent"), install_mesos),
    "marathon": (("marathon",), install_marathon),
}
selected = (os.environ.get("BIGDATA_COMPONENTS") or ",".join(COMPONENTS)).split(",")  # empty: all
unknown = set(selected) - set(COMPONENTS)
if unknown:
    raise SystemExit(f"BIGDATA_COMPONENTS: unknown component(s) {', '.join(sorted(unknown))}; "
                     f"known: {', '.join(COMPONENTS)}")

report()  # live progress for ./bigdata, when it asks
install_common()
for component, (groups, install) in COMPONENTS.items():
    if component in selected and set(groups) & set(host.groups):
        install()
