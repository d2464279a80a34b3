"""Restore a backup of the pipeline's keyspace into every Cassandra node
(deploys/cassandra/backup.py).

    BIGDATA_BACKUP=<name> pyinfra inventories/bigdata.py deploys/restore.py"""
import os

from pyinfra import host

from deploys.cassandra.backup import restore_keyspace

name = os.environ.get("BIGDATA_BACKUP")
if not name:
    raise SystemExit("BIGDATA_BACKUP: name the backup to restore (a directory in cassandra_backup_dir)")
if "cassandra" in host.groups:
    restore_keyspace(name)
