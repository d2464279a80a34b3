"""The offline artifact mirror: Apache Kafka, Cassandra, Spark and ZooKeeper
distributions assembled from Maven Central and PyPI, laid out like the Apache release archive.

    .cache/mirror/kafka/4.4.0/kafka_2.13-4.4.0.tgz(.sha512)
    .cache/mirror/cassandra/5.0.9/apache-cassandra-5.0.9-bin.tar.gz(.sha512)
    .cache/mirror/spark/spark-4.2.0/spark-4.2.0-bin-hadoop3.tgz(.sha512)

A deploy's `artifact_base_url` can point at the official archive or at this
directory (served or copied): file names and relative paths come from
`deploys.versions` in both cases, so there is one code path.

Each tarball holds one top directory, like the official one; what it holds is said by
its builder, one module per distribution (kafka.py, cassandra.py, zookeeper.py,
spark.py), on what they share: maven.py (jars from Maven Central, the shipped conf
files in distributions/), archive.py (the tree, checksums, reproducible packing) and
build.py (which distributions are stale, one build at a time).

A distribution is rebuilt only when its recipe (pinned versions, Maven
coordinates, generated files) changes or the tarball no longer matches its
.sha512. Tarballs are reproducible: same inputs, same bytes.

Run it: `python -m ctl.mirror` (or `build_mirror()` from code).
"""
from ctl.mirror.archive import MIRROR, WORK, artifact_path, checksum_path
from ctl.mirror.build import NAMES, build_mirror, ensure

__all__ = ["MIRROR", "NAMES", "WORK", "artifact_path", "build_mirror", "checksum_path", "ensure"]
