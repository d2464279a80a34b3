"""ZooKeeper: `lib/` (the server, the libraries its pom leaves to the archive, and its
runtime dependencies) and `conf/` (logback.xml, zoo_sample.cfg)."""
from __future__ import annotations

from pathlib import Path

from ctl.mirror import maven
from deploys import versions

REVISION = 1  # bump when build() changes in a way recipe() does not capture


def recipe() -> dict:
    return {
        "revision": REVISION,
        "coordinates": [f"org.apache.zookeeper:zookeeper:{versions.ZOOKEEPER_VERSION}",
                        # provided-scope in ZooKeeper's pom, yet needed to run (versions
                        # from its parent pom); the official archive ships them. Left
                        # out: Jetty and Jackson, used only by the AdminServer, which
                        # the deploy turns off (admin.enableServer=false).
                        "io.dropwizard.metrics:metrics-core:4.1.12.1",
                        "org.xerial.snappy:snappy-java:1.1.10.5",
                        "commons-cli:commons-cli:1.5.0",
                        "ch.qos.logback:logback-classic:1.3.15"],
        "conf": maven.config_files("zookeeper"),
    }


def build(top: Path, recipe: dict) -> list[str]:
    deps = maven.lib_and_conf(top, recipe, "zookeeper", "ZooKeeper", [
        "org.apache.zookeeper.server.quorum.QuorumPeerMain", "org.apache.zookeeper.Version",
        "com.codahale.metrics.Reservoir", "org.xerial.snappy.SnappyInputStream",
        "ch.qos.logback.classic.LoggerContext"])
    return [f"Maven Central: {dep}" for dep in deps]
