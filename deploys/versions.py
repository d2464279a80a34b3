"""The one place where component versions are pinned.

Deploys and the artifact mirror (`ctl.mirror`) both read this module, so a
distribution is always fetched by the same file name and the same relative
path, whether the base URL is the official Apache archive or the project's own
mirror (a directory or a URL laid out the same way):

    <artifact_base_url>/kafka/4.4.0/kafka_2.13-4.4.0.tgz
    <artifact_base_url>/kafka/4.4.0/kafka_2.13-4.4.0.tgz.sha512
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"
CASSANDRA_VERSION = "5.0.9"
# pyspark 4.3.0 is on PyPI, but Spark's Kafka connector
# (org.apache.spark:spark-sql-kafka-0-10_2.13) is published on Maven Central
# only up to 4.2.0, and connector and Spark must be the same release.
SPARK_VERSION = "4.2.0"
SPARK_HADOOP = "hadoop3"
ZOOKEEPER_VERSION = "3.9.5"

APACHE_ARCHIVE = "https://archive.apache.org/dist"


@dataclass(frozen=True)
class Artifact:
    name: str        # "kafka", "cassandra", "spark"
    version: str
    filename: str    # the tarball's file name
    relpath: str     # path under an Apache-archive-like base URL or directory
    top_dir: str     # the single top-level directory inside the tarball

    @property
    def checksum_relpath(self) -> str:
        return f"{self.relpath}.sha512"

    def url(self, base_url: str = APACHE_ARCHIVE) -> str:
        return f"{base_url.rstrip('/')}/{self.relpath}"

    def checksum_url(self, base_url: str = APACHE_ARCHIVE) -> str:
        return f"{base_url.rstrip('/')}/{self.checksum_relpath}"


def _apache(name: str, version: str, top_dir: str, suffix: str, folder: str) -> Artifact:
    """A release tarball `<top_dir><suffix>` in `<folder>/` of the archive, unpacking to `top_dir`."""
    filename = f"{top_dir}{suffix}"
    return Artifact(name, version, filename, f"{folder}/{filename}", top_dir)


ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    _apache("kafka", KAFKA_VERSION, f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}", ".tgz", f"kafka/{KAFKA_VERSION}"),
    _apache("cassandra", CASSANDRA_VERSION, f"apache-cassandra-{CASSANDRA_VERSION}", "-bin.tar.gz",
            f"cassandra/{CASSANDRA_VERSION}"),
    _apache("spark", SPARK_VERSION, f"spark-{SPARK_VERSION}-bin-{SPARK_HADOOP}", ".tgz",
            f"spark/spark-{SPARK_VERSION}"),
    _apache("zookeeper", ZOOKEEPER_VERSION, f"apache-zookeeper-{ZOOKEEPER_VERSION}-bin", ".tar.gz",
            f"zookeeper/zookeeper-{ZOOKEEPER_VERSION}"),
)}


def artifact(name: str) -> Artifact:
    try:
        return ARTIFACTS[name]
    except KeyError:
        raise KeyError(f"unknown artifact {name!r}; known: {', '.join(ARTIFACTS)}") from None


def sha512_from_checksum_file(text: str) -> str:
    """The lowercase hex digest from a .sha512 file in any of the formats the
    Apache archive uses: `<hex>  <file>` (Spark, this mirror), a bare `<hex>`
    (Cassandra), or `gpg --print-md` style `<file>: 8D2D 1F3E ...` spread over
    several lines (Kafka)."""
    if ":" in text.split("\n", 1)[0]:
        text = text.split(":", 1)[1]
    else:
        text = text.split()[0] if text.split() else ""
    digest = re.sub(r"\s+", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{128}", digest):
        raise ValueError("not a SHA-512 checksum file")
    return digest
