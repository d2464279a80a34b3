"""The offline artifact mirror: Apache Kafka, Cassandra and Spark distributions
assembled from Maven Central and PyPI, laid out like the Apache release archive.

    .cache/mirror/kafka/4.4.0/kafka_2.13-4.4.0.tgz(.sha512)
    .cache/mirror/cassandra/5.0.9/apache-cassandra-5.0.9-bin.tar.gz(.sha512)
    .cache/mirror/spark/spark-4.2.0/spark-4.2.0-bin-hadoop3.tgz(.sha512)

A deploy's `artifact_base_url` can point at the official archive or at this
directory (served or copied): file names and relative paths come from
`deploys.versions` in both cases, so there is one code path.

Each tarball holds one top directory, like the official one:
- Kafka: `libs/` (broker, storage, server, tools and their runtime
  dependencies, with the log4j2 binding the official archive ships) and
  `config/` (server.properties for a combined KRaft node, log4j2.yaml,
  tools-log4j2.yaml). No bin/ scripts: run `java -cp 'libs/*' kafka.Kafka ...`.
- Cassandra: `lib/` (cassandra-all and its runtime dependencies) and `conf/`
  (logback.xml, logback-tools.xml, jvm-server.options, jvm17-server.options,
  jvm17-clients.options, hotspot_compiler; cassandra.yaml is the deploy's to
  template).
- Spark: `bin/`, `sbin/`, `jars/`, `python/lib/`, `licenses/` from the pyspark
  source distribution on PyPI, `conf/` with the log4j2 template from spark-core,
  and Spark's Kafka connector with its runtime dependencies added to `jars/`.

A distribution is rebuilt only when its recipe (pinned versions, Maven
coordinates, generated files) changes or the tarball no longer matches its
.sha512. Tarballs are reproducible: same inputs, same bytes.

Run it: `python -m ctl.mirror` (or `build_mirror()` from code).
"""
from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ctl import CACHE
from ctl.console import Exit, fail, run, say, step
from deploys import versions
from deploys.versions import artifact

MIRROR = CACHE / "mirror"          # the archive-like tree: what deploys read
WORK = CACHE / "mirror-build"      # downloads and staging
M2 = CACHE / "m2"                  # Maven's local repository (CI may cache it)
NAMES = ("zookeeper", "kafka", "cassandra", "spark")
CONFIG_FILES = Path(__file__).resolve().parent / "distributions"  # conf/ and config/ files we ship

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# Bump a component's revision when its builder changes in a way the recipe
# below does not already capture.
RECIPE_REVISION = {"zookeeper": 1, "kafka": 1, "cassandra": 1, "spark": 1}
# Fixed timestamp for every tarball entry, so a rebuild gives identical bytes.
TAR_MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))  # 1980-01-01


def _config_files(name: str) -> dict[str, str]:
    """The config files a distribution ships (ctl/distributions/<name>/), by relative path."""
    folder = CONFIG_FILES / name
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def artifact_path(name: str) -> Path:
    """Where the mirror keeps a distribution's tarball (it may not exist yet)."""
    return MIRROR / artifact(name).relpath


def checksum_path(name: str) -> Path:
    return MIRROR / artifact(name).checksum_relpath


def build_mirror(names=NAMES, force: bool = False) -> Path:
    """Build every distribution that is missing or stale; return the mirror root.
    Concurrent callers (a developer and a test run) take turns."""
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("mirror: another build is running; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        for name in names:
            ensure(name, force=force)
    return MIRROR


def ensure(name: str, force: bool = False) -> Path:
    art = artifact(name)
    target = artifact_path(name)
    recipe = RECIPES[name]()
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    if not force and _is_current(name, key):
        say(f"mirror: {art.relpath} is up to date")
        return target
    with step(f"mirror: building {art.relpath}"):
        staging_root = WORK / "staging" / name
        shutil.rmtree(staging_root, ignore_errors=True)
        top = staging_root / art.top_dir
        top.mkdir(parents=True)
        sources = BUILDERS[name](top, recipe)
        (top / "MIRROR-BUILD.txt").write_text(
            f"{art.filename}: assembled by the project's ctl/mirror.py (recipe {key[:12]}) from\n"
            + "".join(f"  {line}\n" for line in sources))
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in (checksum_path(name), _stamp_path(name)):
            stale.unlink(missing_ok=True)
        with step(f"packing {art.filename}"):
            _pack(top, target)
        digest = _sha512(target)
        _write_atomic(checksum_path(name), f"{digest}  {art.filename}\n")
        _write_atomic(_stamp_path(name), key + "\n")
        shutil.rmtree(staging_root, ignore_errors=True)
    say(f"mirror: {art.relpath} ({target.stat().st_size / 2**20:.0f} MiB)")
    return target


# --------------------------------------------------------------------------- cache

def _stamp_path(name: str) -> Path:
    target = artifact_path(name)
    return target.with_name(f".{target.name}.recipe")


def _is_current(name: str, key: str) -> bool:
    target, checksum, stamp = artifact_path(name), checksum_path(name), _stamp_path(name)
    if not (target.is_file() and checksum.is_file() and stamp.is_file()):
        return False
    if stamp.read_text().strip() != key:
        say(f"mirror: the recipe of {target.name} changed")
        return False
    try:
        expected = versions.sha512_from_checksum_file(checksum.read_text())
    except ValueError:
        return False
    if _sha512(target) != expected:
        say(f"mirror: {target.name} does not match its .sha512")
        return False
    return True


def _sha512(path: Path) -> str:
    h = hashlib.sha512()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.replace(path)


def _pack(top: Path, target: Path) -> None:
    """A reproducible .tgz of `top` (sorted entries, fixed owner and mtime)."""
    part = target.with_name(target.name + ".part")

    def entry(path: Path) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.relative_to(top.parent).as_posix())
        info.mtime = TAR_MTIME
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if path.is_dir():
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
        return info

    with part.open("wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            here = Path(dirpath)
            tar.addfile(entry(here))
            for filename in sorted(filenames):
                path = here / filename
                if path.is_symlink() or not path.is_file():
                    fail(f"unexpected non-regular file in a distribution: {path}")
                with path.open("rb") as f:
                    tar.addfile(entry(path), f)
    part.replace(target)


# --------------------------------------------------------------------------- Maven

@dataclass(frozen=True)
class Dependency:
    group: str
    artifact: str
    version: str
    classifier: str
    type: str
    scope: str
    file: Path

    @property
    def jar_name(self) -> str:  # the name copy-dependencies would give it
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.{self.type}"

    def __str__(self) -> str:
        suffix = f":{self.classifier}" if self.classifier else ""
        return f"{self.group}:{self.artifact}:{self.version}{suffix}"


def _pom(coordinates: list[str], name: str) -> str:
    deps = []
    for coordinate in coordinates:
        group, art, version, *rest = coordinate.split(":")
        classifier = f"\n      <classifier>{escape(rest[0])}</classifier>" if rest else ""
        deps.append(f"""    <dependency>
      <groupId>{escape(group)}</groupId>
      <artifactId>{escape(art)}</artifactId>
      <version>{escape(version)}</version>{classifier}
    </dependency>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by ctl/mirror.py: resolves {escape(name)} for the artifact mirror -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.bigdata.mirror</groupId>
  <artifactId>{escape(name)}</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
{chr(10).join(deps)}
  </dependencies>
</project>
"""


def _maven_settings() -> Path | None:
    """Maven ignores the *_proxy environment variables: turn them into settings."""
    proxies = []
    for scheme in ("https", "http"):
        url = os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY")
        if not url:
            continue
        parts = urlsplit(url if "://" in url else f"http://{url}")
        no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
        hosts = "|".join(h.strip() for h in no_proxy.split(",") if h.strip())
        auth = (f"<username>{escape(parts.username)}</username><password>{escape(parts.password or '')}</password>"
                if parts.username else "")
        proxies.append(
            f"<proxy><id>env-{scheme}</id><active>true</active><protocol>{scheme}</protocol>"
            f"<host>{escape(parts.hostname or '')}</host><port>{parts.port or 80}</port>{auth}"
            + (f"<nonProxyHosts>{escape(hosts)}</nonProxyHosts>" if hosts else "") + "</proxy>")
    if not proxies:
        return None
    settings = WORK / "maven-settings.xml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0"><proxies>' + "".join(proxies) + "</proxies></settings>\n")
    settings.chmod(0o600)
    return settings


def maven_resolve(coordinates: list[str], name: str) -> list[Dependency]:
    """Resolve `coordinates` with their runtime dependencies (compile + runtime
    scopes, no optional or provided ones) into Maven's local repository."""
    if not shutil.which("mvn"):
        fail("Maven (mvn) is needed to build the artifact mirror; `./bigdata prereqs` installs it", Exit.PREREQUISITE)
    WORK.mkdir(parents=True, exist_ok=True)
    M2.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=WORK) as tmp:
        pom, listing = Path(tmp) / "pom.xml", Path(tmp) / "dependencies.txt"
        pom.write_text(_pom(coordinates, name))
        cmd = ["mvn", "-B", "-q", "-U", "-f", str(pom), f"-Dmaven.repo.local={M2}",
               f"{MAVEN_DEPENDENCY_PLUGIN}:list", "-DincludeScope=runtime",
               "-DoutputAbsoluteArtifactFilename=true", f"-DoutputFile={listing}", "-DappendOutput=false"]
        settings = _maven_settings()
        if settings:
            cmd[1:1] = ["-s", str(settings)]
        with step(f"Maven: resolving {', '.join(coordinates)} with runtime dependencies"):
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0 or not listing.is_file():
                _maven_failed(coordinates, result.stdout + result.stderr)
            deps = _parse_listing(listing.read_text())
    if not deps:
        fail(f"Maven resolved no files for {', '.join(coordinates)}")
    return deps


def _maven_failed(coordinates: list[str], output: str) -> NoReturn:
    noise = ("re-run maven", "to see the full stack trace", "for more information", "[help 1] http")
    errors = [line for line in (re.sub(r"\x1b\[[0-9;]*m", "", raw).strip() for raw in output.splitlines())
              if "ERROR" in line and line != "[ERROR]" and not any(n in line.lower() for n in noise)]
    missing = sorted(set(re.findall(
        r"(?:Could not find artifact|Failure to find|Could not transfer artifact|"
        r"Could not resolve dependencies for project [^:]+:[^:]+:[^:]+:[^:]+: (?:The following artifacts could not be resolved: )?)"
        r"\s*([\w.\-]+:[\w.\-]+:[\w.\-]+(?::[\w.\-]+)*)", output)))
    hint = ""
    if "PKIX path building failed" in output:
        hint = ("\nJava does not trust the HTTPS certificate it was shown (an egress proxy's CA?): "
                "add the CA to /usr/local/share/ca-certificates and run `update-ca-certificates` "
                "(ca-certificates-java then updates /etc/ssl/certs/java/cacerts)")
    what = f"could not resolve {', '.join(missing)}" if missing else "failed"
    fail(f"Maven {what} (asked for {', '.join(coordinates)})\n" + "\n".join(errors[:15]) + hint)


def _parse_listing(text: str) -> list[Dependency]:
    """Lines like `   g:a:jar[:classifier]:v:scope:/abs/path.jar -- module x [auto]`."""
    deps = []
    for line in text.splitlines():
        line = line.strip().split(" -- ", 1)[0].strip()
        if line.count(":") < 5 or "/" not in line:
            continue
        head, path = line.split(":/", 1)
        fields = head.split(":")
        if len(fields) == 5:
            group, art, typ, version, scope = fields
            classifier = ""
        elif len(fields) == 6:
            group, art, typ, classifier, version, scope = fields
        else:
            continue
        deps.append(Dependency(group, art, version, classifier, typ, scope, Path("/" + path)))
    return sorted(deps, key=lambda d: (d.group, d.artifact, d.classifier))


def _copy_jars(deps: list[Dependency], into: Path) -> list[str]:
    into.mkdir(parents=True, exist_ok=True)
    names = []
    for dep in deps:
        if dep.type != "jar":
            continue
        if not dep.file.is_file():
            fail(f"Maven listed {dep} but {dep.file} is missing")
        shutil.copyfile(dep.file, into / dep.jar_name)
        names.append(dep.jar_name)
    return names


def _require_classes(jars_dir: Path, classes: list[str], what: str) -> None:
    """Fail unless every class is in some jar of `jars_dir` (main classes the deploys run)."""
    wanted = {c.replace(".", "/") + ".class": c for c in classes}
    for jar in sorted(jars_dir.glob("*.jar")):
        with zipfile.ZipFile(jar) as z:
            for member in wanted.keys() & set(z.namelist()):
                del wanted[member]
        if not wanted:
            return
    fail(f"{what}: no jar in {jars_dir.name}/ has {', '.join(wanted.values())}")


# --------------------------------------------------------------------------- Kafka

def _kafka_recipe() -> dict:
    v, scala = versions.KAFKA_VERSION, versions.SCALA_VERSION
    return {
        "revision": RECIPE_REVISION["kafka"],
        "coordinates": [f"org.apache.kafka:kafka_{scala}:{v}", f"org.apache.kafka:kafka-tools:{v}",
                        f"org.apache.kafka:kafka-storage:{v}", f"org.apache.kafka:kafka-server:{v}"],
        # the slf4j 1.x binding for the log4j2 the broker itself depends on
        "logging_binding": "org.apache.logging.log4j:log4j-slf4j-impl",
        "config": _config_files("kafka"),
    }


def _build_kafka(top: Path, recipe: dict) -> list[str]:
    coordinates = recipe["coordinates"]
    deps = maven_resolve(coordinates, "kafka")
    log4j = [d.version for d in deps if (d.group, d.artifact) == ("org.apache.logging.log4j", "log4j-core")]
    if not log4j:
        fail(f"Kafka {versions.KAFKA_VERSION}: no log4j-core among the broker's dependencies; "
             "the logging binding cannot be chosen")
    binding = f"{recipe['logging_binding']}:{log4j[0]}"
    deps = maven_resolve(coordinates + [binding], "kafka")
    _single_versions(deps, "Kafka")
    jars = _copy_jars(deps, top / "libs")
    say(f"Kafka: {len(jars)} jars in libs/ (logging: {binding.split(':', 1)[1]})")
    _require_classes(top / "libs", [
        "kafka.Kafka", "kafka.tools.StorageTool", "org.apache.kafka.tools.TopicCommand",
        "org.apache.kafka.tools.MetadataQuorumCommand", "org.apache.logging.slf4j.Log4jLoggerFactory",
        "com.fasterxml.jackson.dataformat.yaml.YAMLFactory"], "Kafka")
    config = top / "config"
    config.mkdir()
    for filename, text in recipe["config"].items():
        (config / filename).write_text(text)
    return [f"Maven Central: {dep}" for dep in deps]


def _single_versions(deps: list[Dependency], what: str) -> None:
    seen: dict[tuple, str] = {}
    for dep in deps:
        key = (dep.group, dep.artifact, dep.classifier)
        if key in seen and seen[key] != dep.version:
            fail(f"{what}: two versions of {dep.group}:{dep.artifact}: {seen[key]} and {dep.version}")
        seen[key] = dep.version






# --------------------------------------------------------------------------- Cassandra

def _cassandra_recipe() -> dict:
    return {
        "revision": RECIPE_REVISION["cassandra"],
        "coordinates": [f"org.apache.cassandra:cassandra-all:{versions.CASSANDRA_VERSION}"],
        "conf": _config_files("cassandra"),
        # stock conf files shipped inside the cassandra-all jar
        "conf_from_jar": {"hotspot_compiler": "META-INF/hotspot_compiler"},
    }


def _lib_and_conf(top: Path, recipe: dict, name: str, what: str, classes: list[str]) -> list[Dependency]:
    """The lib/ + conf/ layout (Cassandra's, ZooKeeper's): the recipe's jars with their
    runtime dependencies, checked for the classes that must load, and the shipped conf files."""
    deps = maven_resolve(recipe["coordinates"], name)
    _single_versions(deps, what)
    jars = _copy_jars(deps, top / "lib")
    say(f"{what}: {len(jars)} jars in lib/")
    _require_classes(top / "lib", classes, what)
    for filename, text in recipe["conf"].items():
        (top / "conf" / filename).parent.mkdir(parents=True, exist_ok=True)
        (top / "conf" / filename).write_text(text)
    return deps


def _build_cassandra(top: Path, recipe: dict) -> list[str]:
    deps = _lib_and_conf(top, recipe, "cassandra", "Cassandra", [
        "org.apache.cassandra.service.CassandraDaemon", "org.apache.cassandra.tools.NodeTool",
        "org.apache.cassandra.tools.GetVersion", "ch.qos.logback.classic.LoggerContext",
        "org.github.jamm.MemoryMeter"])
    conf = top / "conf"
    main_jar = top / "lib" / next(d.jar_name for d in deps if d.artifact == "cassandra-all")
    with zipfile.ZipFile(main_jar) as z:
        for filename, member in recipe["conf_from_jar"].items():
            (conf / filename).write_bytes(z.read(member))
    return [f"Maven Central: {dep}" for dep in deps]








# --------------------------------------------------------------------------- Spark

def _spark_recipe() -> dict:
    v = versions.SPARK_VERSION
    return {
        "revision": RECIPE_REVISION["spark"],
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


def _build_spark(top: Path, recipe: dict) -> list[str]:
    version = versions.SPARK_VERSION
    sdist = _download_pyspark(recipe["pypi"])
    prefix = f"pyspark-{version}/"
    layout = recipe["layout"]
    with step(f"unpacking Spark {version} from {sdist.name}"), tarfile.open(sdist) as tar:
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
    for needed in ("bin/spark-submit", "bin/spark-class", "jars", "python/lib/pyspark.zip"):
        if not (top / needed).exists():
            fail(f"Spark {version}: {sdist.name} has no {needed} where expected")
    jars = top / "jars"
    conf = top / "conf"
    conf.mkdir()
    # Spark's built-in logging defaults, as the template operators copy to conf/log4j2.properties
    for name, resource in recipe["conf_from_jars"].items():
        for jar in sorted(jars.glob("spark-*.jar")):
            with zipfile.ZipFile(jar) as z:
                if resource in z.namelist():
                    (conf / name).write_bytes(z.read(resource))
                    break
        else:
            fail(f"Spark {version}: no jar has {resource}")
    (top / "RELEASE").write_text(
        f"Spark {version} built for Hadoop 3 (from pyspark {version} on PyPI and "
        f"{recipe['coordinates'][0]} on Maven Central)\n")

    deps = maven_resolve(recipe["coordinates"], "spark-kafka")
    present = [p.name for p in jars.glob("*.jar")]
    added, kept = [], []
    for dep in deps:
        have = [n for n in present if re.match(re.escape(dep.artifact) + r"-\d", n)]
        if have:
            if dep.jar_name not in have:
                kept.append(f"{dep.jar_name} (Spark has {', '.join(have)})")
            continue
        added += _copy_jars([dep], jars)
    say(f"Spark: added to jars/: {', '.join(added) or 'nothing'}")
    if kept:
        say(f"Spark: kept Spark's own jar instead of: {'; '.join(kept)}")
    _require_classes(jars, ["org.apache.spark.sql.kafka010.KafkaSourceProvider",
                            "org.apache.kafka.clients.consumer.KafkaConsumer",
                            "org.apache.spark.deploy.master.Master",
                            "org.apache.spark.deploy.worker.Worker"], "Spark")
    return [f"PyPI: {recipe['pypi']} ({sdist.name}: bin, sbin, jars, licenses, python/lib)",
            *(f"Maven Central: {dep}" for dep in deps if dep.jar_name in added)]


# --------------------------------------------------------------------------- ZooKeeper

def _zookeeper_recipe() -> dict:
    return {
        "revision": RECIPE_REVISION["zookeeper"],
        "coordinates": [f"org.apache.zookeeper:zookeeper:{versions.ZOOKEEPER_VERSION}",
                        # provided-scope in ZooKeeper's pom, yet needed to run (versions
                        # from its parent pom); the official archive ships them. Left
                        # out: Jetty and Jackson, used only by the AdminServer, which
                        # the deploy turns off (admin.enableServer=false).
                        "io.dropwizard.metrics:metrics-core:4.1.12.1",
                        "org.xerial.snappy:snappy-java:1.1.10.5",
                        "commons-cli:commons-cli:1.5.0",
                        "ch.qos.logback:logback-classic:1.3.15"],
        "conf": _config_files("zookeeper"),
    }


def _build_zookeeper(top: Path, recipe: dict) -> list[str]:
    deps = _lib_and_conf(top, recipe, "zookeeper", "ZooKeeper", [
        "org.apache.zookeeper.server.quorum.QuorumPeerMain", "org.apache.zookeeper.Version",
        "com.codahale.metrics.Reservoir", "org.xerial.snappy.SnappyInputStream",
        "ch.qos.logback.classic.LoggerContext"])
    return [f"Maven Central: {dep}" for dep in deps]





RECIPES = {"zookeeper": _zookeeper_recipe, "kafka": _kafka_recipe, "cassandra": _cassandra_recipe,
           "spark": _spark_recipe}
BUILDERS = {"zookeeper": _build_zookeeper, "kafka": _build_kafka, "cassandra": _build_cassandra,
            "spark": _build_spark}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctl.mirror", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in NAMES:
            parser.error(f"unknown distribution {name!r}: choose from {', '.join(NAMES)}")
    root = build_mirror(args.names or NAMES, force=args.force)
    for name in args.names or NAMES:
        path = artifact_path(name)
        print(f"{path.relative_to(root)}  {path.stat().st_size / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
