"""Cassandra: `lib/` (cassandra-all and its runtime dependencies) and `conf/`
(logback.xml, logback-tools.xml, jvm-server.options, jvm17-server.options,
jvm17-clients.options, hotspot_compiler; cassandra.yaml is the deploy's to template)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from ctl.mirror import maven
from deploys import versions

REVISION = 1  # bump when build() changes in a way recipe() does not capture


def recipe() -> dict:
    return {
        "revision": REVISION,
        "coordinates": [f"org.apache.cassandra:cassandra-all:{versions.CASSANDRA_VERSION}"],
        "conf": maven.config_files("cassandra"),
        # stock conf files shipped inside the cassandra-all jar
        "conf_from_jar": {"hotspot_compiler": "META-INF/hotspot_compiler"},
    }


def build(top: Path, recipe: dict) -> list[str]:
    deps = maven.lib_and_conf(top, recipe, "cassandra", "Cassandra", [
        "org.apache.cassandra.service.CassandraDaemon", "org.apache.cassandra.tools.NodeTool",
        "org.apache.cassandra.tools.GetVersion", "ch.qos.logback.classic.LoggerContext",
        "org.github.jamm.MemoryMeter"])
    main_jar = top / "lib" / next(d.jar_name for d in deps if d.artifact == "cassandra-all")
    with zipfile.ZipFile(main_jar) as z:
        for filename, member in recipe["conf_from_jar"].items():
            (top / "conf" / filename).write_bytes(z.read(member))
    return [f"Maven Central: {dep}" for dep in deps]
