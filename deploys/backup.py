"""Back up the pipeline's keyspace from every Cassandra node (deploys/cassandra/backup.py).

    pyinfra inventories/bigdata.py deploys/backup.py

The backup's name is BIGDATA_BACKUP, else the time now (UTC)."""
import os

from pyinfra import host

from deploys.cassandra.backup import backup_keyspace, new_name

# one name for every host of the run (this file runs once per host)
name = os.environ.setdefault("BIGDATA_BACKUP", new_name())
if "cassandra" in host.groups:
    backup_keyspace(name)
