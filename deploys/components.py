"""The platform's components, in deploy order: the one list that deploys/site.py runs,
the inventory check (deploys/inventory.py) reads and `./bigdata status` asks.

Adding a component: a package deploys/<name>/ with its `Settings` (a ComponentSettings
whose `groups` are the inventory groups it applies to), its `install_<name>` deploy and,
if `status` should ask it, a `status_check`; then one line here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from deploys import (cassandra, common, docker, glusterfs, kafka, marathon, mesos, pipeline, redis, spark, swarm, tls,
                     zookeeper)
from deploys.settings import ComponentSettings


@dataclass(frozen=True)
class Component:
    name: str
    settings: type[ComponentSettings]
    install: Callable[[], None]
    # the groups whose hosts it is deployed on, when not all its settings' groups
    # (Mesos' settings reach the Marathon hosts, which run no Mesos); "all": every host
    deployed_on: tuple[str, ...] = ()
    # (inventory data, host name, address) -> (shell check, its environment), for `status`
    status_check: Callable[..., tuple[str, dict]] | None = None
    # runs in every run of the site deploy, whatever BIGDATA_COMPONENTS selects: what the
    # selected components build on (a TLS listener needs the host's certificate)
    always: bool = False

    @property
    def groups(self) -> tuple[str, ...]:
        return self.deployed_on or self.settings.groups

    def deployed_to(self, host_groups) -> bool:
        """Whether a host of these inventory groups gets it (pyinfra leaves "all" out of a
        host's groups: every host is in it)."""
        return bool(set(self.groups) & {"all", *host_groups})


# The base every host gets first (packages, limits, the service user).
COMMON = Component("common", common.Settings, common.install_common)

PLATFORM = (  # deploys/site.py, in this order; each waits until it answers before the next
    # every host's certificate from the platform's CA, before any service that will use it
    Component("tls", tls.Settings, tls.install_tls, always=True),
    Component("zookeeper", zookeeper.Settings, zookeeper.install_zookeeper, status_check=zookeeper.status_check),
    Component("kafka", kafka.Settings, kafka.install_kafka, status_check=kafka.status_check),
    Component("cassandra", cassandra.Settings, cassandra.install_cassandra, status_check=cassandra.status_check),
    Component("redis", redis.Settings, redis.install_redis, status_check=redis.status_check),
    Component("spark", spark.Settings, spark.install_spark, status_check=spark.status_check),
    # the directory a moved task finds again (the stream processor's checkpoint)
    Component("glusterfs", glusterfs.Settings, glusterfs.install_glusterfs),
    # the Mesos agents' containerizer, Swarm's engine
    Component("docker", docker.Settings, docker.install_docker),
    # runs the apps where no Marathon does
    Component("swarm", swarm.Settings, swarm.install_swarm),
    Component("mesos", mesos.Settings, mesos.install_mesos, deployed_on=("mesos_master", "mesos_agent")),
    Component("marathon", marathon.Settings, marathon.install_marathon),
)

# The pipeline's apps (deploys/apps.py): after the platform, on Marathon or Swarm.
APPS = Component("pipeline", pipeline.Settings, pipeline.install_pipeline)

ALL = (COMMON, *PLATFORM, APPS)
