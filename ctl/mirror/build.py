"""Building the mirror: each distribution staged by its builder (one module per
distribution: recipe() and build()), packed and published only when its recipe
(pinned versions, Maven coordinates, shipped files, the builder's REVISION) changed
or its tarball no longer matches its .sha512."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ctl.console import say, step, taking_turns
from ctl.mirror import archive, cassandra, kafka, spark, zookeeper
from deploys.versions import artifact

DISTRIBUTIONS = {"zookeeper": zookeeper, "kafka": kafka, "cassandra": cassandra, "spark": spark}
NAMES = tuple(DISTRIBUTIONS)


def build_mirror(names=NAMES, force: bool = False) -> Path:
    """Build every distribution that is missing or stale; return the mirror root.
    Concurrent callers (a developer and a test run) take turns."""
    with taking_turns(archive.WORK / ".lock", "mirror"):
        for name in names:
            ensure(name, force=force)
    return archive.MIRROR


def ensure(name: str, force: bool = False) -> Path:
    """One distribution's tarball, built unless it is current."""
    art = artifact(name)
    distribution = DISTRIBUTIONS[name]
    recipe = distribution.recipe()
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    if not force and archive.is_current(name, key):
        say(f"mirror: {art.relpath} is up to date")
        return archive.artifact_path(name)
    with step(f"mirror: building {art.relpath}"):
        staging_root = archive.WORK / "staging" / name
        shutil.rmtree(staging_root, ignore_errors=True)
        top = staging_root / art.top_dir
        top.mkdir(parents=True)
        sources = distribution.build(top, recipe)
        (top / "MIRROR-BUILD.txt").write_text(
            f"{art.filename}: assembled by the project's ctl/mirror/ (recipe {key[:12]}) from\n"
            + "".join(f"  {line}\n" for line in sources))
        target = archive.publish(name, top, key)
        shutil.rmtree(staging_root, ignore_errors=True)
    say(f"mirror: {art.relpath} ({target.stat().st_size / 2**20:.0f} MiB)")
    return target
