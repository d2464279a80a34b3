"""Spark: `bin/`, `sbin/`, `jars/`, `python/lib/`, `licenses/` from the pyspark source
distribution on PyPI, `conf/` with the log4j2 templates from spark-core, and Spark's
Kafka connector with its runtime dependencies (from Maven Central) added to `jars/`."""
from __future__ import annotations

import re
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

from ctl.console import fail, run, say, step
from ctl.mirror import maven
from ctl.mirror.archive import WORK
from deploys import versions

REVISION = 1  # bump when build() changes in a way recipe() does not capture


def recipe() -> dict:
    v = versions.SPARK_VERSION
    return {
        "revision": REVISION,
        "pypi": f"pyspark=={v}",
        "coordinates": [f"org.apache.spark:spark-sql-kafka-0-10_{versions.SCALA_VERSION}:{v}"],
        # sdist member (under pyspark-<v>/) -> distribution path
        "layout": {"deps/bin": "bin", "deps/sbin": "sbin", "deps/jars": "jars", "deps/licenses": "licenses",
                   "lib": "python/lib", "LICENSE": "LICENSE", "NOTICE": "NOTICE", "README.md": "README.md"},
        "conf_from_jars": {"log4j2.properties.template": "org/apache/spark/log4j2-defaults.properties",
                           "log4j2-json-layout.properties.template": "org/apache/spark/log4j2-json-layout.properties"},
    }


def _download_pyspark(requirement: str) -> Path:
    version = requirement.split("==", 1)[1]
    downloads = WORK / "downloads"
    sdist = downloads / f"pyspark-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    downloads.mkdir(parents=True, exist_ok=True)
    # pyspark is published as a source distribution only (~450 MB): it carries
    # Spark's jars and scripts. Only downloaded, never installed.
    with step(f"PyPI: downloading {requirement} (about 450 MB)"):
        run(Path(sys.executable), "-m", "pip", "download", "--no-deps", "--no-binary", "pyspark",
            "--disable-pip-version-check", "-q", "-d", downloads, requirement, quiet=True)
    if not sdist.is_file():
        fail(f"pip download {requirement} did not leave {sdist.name} in {downloads}")
    return sdist


def build(top: Path, recipe: dict) -> list[str]:
    version = versions.SPARK_VERSION
    sdist = _download_pyspark(recipe["pypi"])
    _unpack(sdist, f"pyspark-{version}/", recipe["layout"], top)
    for needed in ("bin/spark-submit", "bin/spark-class", "jars", "python/lib/pyspark.zip"):
        if not (top / needed).exists():
            fail(f"Spark {version}: {sdist.name} has no {needed} where expected")
    jars = top / "jars"
    _logging_templates(jars, top / "conf", recipe["conf_from_jars"])
    (top / "RELEASE").write_text(
        f"Spark {version} built for Hadoop 3 (from pyspark {version} on PyPI and "
        f"{recipe['coordinates'][0]} on Maven Central)\n")
    deps, added = _add_kafka_connector(jars, recipe["coordinates"])
    maven.require_classes(jars, ["org.apache.spark.sql.kafka010.KafkaSourceProvider",
                                 "org.apache.kafka.clients.consumer.KafkaConsumer",
                                 "org.apache.spark.deploy.master.Master",
                                 "org.apache.spark.deploy.worker.Worker"], "Spark")
    return [f"PyPI: {recipe['pypi']} ({sdist.name}: bin, sbin, jars, licenses, python/lib)",
            *(f"Maven Central: {dep}" for dep in deps if dep.jar_name in added)]


def _unpack(sdist: Path, prefix: str, layout: dict[str, str], top: Path) -> None:
    """The sdist's members under `prefix` that `layout` places (sdist path -> distribution path)."""
    with step(f"unpacking Spark {versions.SPARK_VERSION} from {sdist.name}"), tarfile.open(sdist) as tar:
        for member in tar:
            if not member.name.startswith(prefix) or not (member.isfile() or member.isdir()):
                continue
            rel = member.name[len(prefix):]
            for source, dest in layout.items():
                if rel == source or rel.startswith(source + "/"):
                    out = top / dest / rel[len(source):].lstrip("/")
                    break
            else:
                continue
            if member.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            out.chmod(0o755 if member.mode & 0o111 else 0o644)


def _logging_templates(jars: Path, conf: Path, resources: dict[str, str]) -> None:
    """Spark's built-in logging defaults, as the templates operators copy to conf/log4j2.properties."""
    conf.mkdir()
    for name, resource in resources.items():
        for jar in sorted(jars.glob("spark-*.jar")):
            with zipfile.ZipFile(jar) as z:
                if resource in z.namelist():
                    (conf / name).write_bytes(z.read(resource))
                    break
        else:
            fail(f"Spark {versions.SPARK_VERSION}: no jar has {resource}")


def _add_kafka_connector(jars: Path, coordinates: list[str]) -> tuple[list[maven.Dependency], list[str]]:
    """The connector and those of its dependencies Spark lacks (Spark's own version of a jar
    it has is kept); returns what Maven resolved and the jars added."""
    deps = maven.resolve(coordinates, "spark-kafka")
    present = [p.name for p in jars.glob("*.jar")]
    added, kept = [], []
    for dep in deps:
        have = [n for n in present if re.match(re.escape(dep.artifact) + r"-\d", n)]
        if have:
            if dep.jar_name not in have:
                kept.append(f"{dep.jar_name} (Spark has {', '.join(have)})")
            continue
        added += maven.copy_jars([dep], jars)
    say(f"Spark: added to jars/: {', '.join(added) or 'nothing'}")
    if kept:
        say(f"Spark: kept Spark's own jar instead of: {'; '.join(kept)}")
    return deps, added
