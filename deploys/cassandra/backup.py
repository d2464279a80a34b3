"""Backups of the pipeline's keyspace (`stocks`), and restoring one into a platform.

A backup is a directory `<cassandra_backup_dir>/<name>/` on the control machine (the name
is a UTC time, e.g. 20261202T130501Z): each Cassandra node's snapshot of the keyspace
(`nodetool snapshot`), as `<node>.tar.gz` in ring order, and the keyspace's schema as the
first node describes it (`schema.cql`). The newest `cassandra_backup_keep` are kept.

Restoring loads every node's snapshot of a backup into every node (`nodetool import`):
right while every node holds every row, i.e. the keyspace's replication equals the ring's
size (the platform's default up to three nodes); a larger ring is refused before any host
is touched. The platform's own deploy makes the schema; rows already there are kept
(a row in both keeps its newest write).

    pyinfra inventories/bigdata.py deploys/backup.py                        # ./bigdata backup
    BIGDATA_BACKUP=<name> pyinfra inventories/bigdata.py deploys/restore.py  # ./bigdata restore <name>
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import files, python, server

from deploys import common
from deploys.cassandra import CLIENT, NODETOOL, Settings, ring_factors
from deploys.topology import members
from shared.names import KEYSPACE

STAGING = "/var/tmp/bigdata-backup"  # on each node, emptied after each run
NAME_FORMAT = "%Y%m%dT%H%M%SZ"


def new_name() -> str:
    return time.strftime(NAME_FORMAT, time.gmtime())


def _position() -> int:
    return [m.name for m in members("cassandra")].index(host.name) + 1


def _prune(directory: Path, keep: int) -> None:
    """The newest `keep` backups stay (their names sort by time); older ones go."""
    backups = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in backups[:-keep]:
        shutil.rmtree(old)


@deploy("Back up the pipeline's keyspace")
def backup_keyspace(name: str) -> None:
    settings = Settings.from_host(host)
    data = f"{common.Settings.from_host(host).data_dir}/cassandra/data"
    target = Path(settings.cassandra_backup_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    archive = f"{STAGING}/{name}.tar.gz"
    server.shell(
        name=f"Snapshot keyspace {KEYSPACE} ({name}) and pack it",
        commands=[f"rm -rf {STAGING} && mkdir -m 0700 {STAGING}",
                  f"{NODETOOL} snapshot -t {name} {KEYSPACE} > /dev/null",
                  # <table>-<id>/snapshots/<name>/...: each table's SSTables as of the snapshot
                  f"cd {data}/{KEYSPACE} && tar -czf {archive} */snapshots/{name}",
                  f"{NODETOOL} clearsnapshot -t {name} -- {KEYSPACE} > /dev/null"],
    )
    files.get(name="Fetch the snapshot", src=archive, dest=str(target / f"node-{_position()}.tar.gz"))
    if _position() == 1:
        server.shell(name=f"Describe keyspace {KEYSPACE}",
                     commands=[f"{CLIENT} exec -e 'DESCRIBE KEYSPACE {KEYSPACE}' | python3 -c "
                               f"'import json, sys; print(\"\\n\\n\".join(json.loads(line)[\"create_statement\"] "
                               f"for line in sys.stdin))' > {STAGING}/schema.cql"])
        files.get(name="Fetch the schema", src=f"{STAGING}/schema.cql", dest=str(target / "schema.cql"))
        python.call(name=f"Keep the newest {settings.cassandra_backup_keep} backups",
                    function=_prune, directory=target.parent, keep=settings.cassandra_backup_keep)
    files.directory(name="Remove the staging directory", path=STAGING, present=False)


@deploy("Restore the pipeline's keyspace")
def restore_keyspace(name: str) -> None:
    settings = Settings.from_host(host)
    user = common.Settings.from_host(host).service_user
    source = Path(settings.cassandra_backup_dir) / name
    snapshots = sorted(source.glob("node-*.tar.gz"))
    if not snapshots:
        raise DeployError(f"no backup {name!r} in {source.parent} (its backups: "
                          f"{', '.join(sorted(p.name for p in source.parent.glob('*T*Z'))) or 'none'})")
    nodes, replicas = len(members("cassandra")), min(ring_factors(settings).values())
    if replicas < nodes:
        raise DeployError(f"{nodes} Cassandra nodes with {replicas} replicas: a restore loads every snapshot on "
                          f"every node, right only while each node holds every row; load this backup with "
                          f"sstableloader instead")
    files.directory(name="Create the staging directory", path=STAGING, user=user, group=user, mode="0700")
    for snapshot in snapshots:
        files.put(name=f"Upload {snapshot.name}", src=str(snapshot), dest=f"{STAGING}/{snapshot.name}", mode="0600")
    # each table's SSTables: <table>-<id>/snapshots/<name>/ in every archive, imported from there
    server.shell(
        name=f"Load backup {name} into keyspace {KEYSPACE} (nodetool import)",
        commands=[f"cd {STAGING} && for archive in node-*.tar.gz; do "
                  f"mkdir -p ${{archive%.tar.gz}} && tar -xzf $archive -C ${{archive%.tar.gz}}; done",
                  f"chown -R {user}:{user} {STAGING}",
                  f"cd {STAGING} && for dir in node-*/*/snapshots/{name}; do table=$(basename $(dirname $(dirname $dir))); "
                  f"{NODETOOL} import {KEYSPACE} ${{table%-*}} {STAGING}/$dir || exit 1; done"],
    )
    files.directory(name="Remove the staging directory", path=STAGING, present=False)
