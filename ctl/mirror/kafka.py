"""Kafka: `libs/` (broker, storage, server, tools and their runtime dependencies, with
the log4j2 binding the official archive ships) and `config/` (server.properties for a
combined KRaft node, log4j2.yaml, tools-log4j2.yaml). No bin/ scripts: run
`java -cp 'libs/*' kafka.Kafka ...`."""
from __future__ import annotations

from pathlib import Path

from ctl.console import fail, say
from ctl.mirror import maven
from deploys import versions

REVISION = 1  # bump when build() changes in a way recipe() does not capture


def recipe() -> dict:
    v, scala = versions.KAFKA_VERSION, versions.SCALA_VERSION
    return {
        "revision": REVISION,
        "coordinates": [f"org.apache.kafka:kafka_{scala}:{v}", f"org.apache.kafka:kafka-tools:{v}",
                        f"org.apache.kafka:kafka-storage:{v}", f"org.apache.kafka:kafka-server:{v}"],
        # the slf4j 1.x binding for the log4j2 the broker itself depends on
        "logging_binding": "org.apache.logging.log4j:log4j-slf4j-impl",
        "config": maven.config_files("kafka"),
    }


def build(top: Path, recipe: dict) -> list[str]:
    coordinates = recipe["coordinates"]
    deps = maven.resolve(coordinates, "kafka")
    log4j = [d.version for d in deps if (d.group, d.artifact) == ("org.apache.logging.log4j", "log4j-core")]
    if not log4j:
        fail(f"Kafka {versions.KAFKA_VERSION}: no log4j-core among the broker's dependencies; "
             "the logging binding cannot be chosen")
    binding = f"{recipe['logging_binding']}:{log4j[0]}"
    deps = maven.resolve(coordinates + [binding], "kafka")
    maven.single_versions(deps, "Kafka")
    jars = maven.copy_jars(deps, top / "libs")
    say(f"Kafka: {len(jars)} jars in libs/ (logging: {binding.split(':', 1)[1]})")
    maven.require_classes(top / "libs", [
        "kafka.Kafka", "kafka.tools.StorageTool", "org.apache.kafka.tools.TopicCommand",
        "org.apache.kafka.tools.MetadataQuorumCommand", "org.apache.logging.slf4j.Log4jLoggerFactory",
        "com.fasterxml.jackson.dataformat.yaml.YAMLFactory"], "Kafka")
    maven.write_files(top / "config", recipe["config"])
    return [f"Maven Central: {dep}" for dep in deps]
