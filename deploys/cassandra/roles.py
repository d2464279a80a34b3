"""The pipeline's Cassandra roles: one per service that uses Cassandra, each with exactly
its permissions on the ticks table (least privilege; the superuser is the deploy's and the
operators'). The one table the deploy (cassandra-cql roles), the app definitions' check
and the tests read."""
from __future__ import annotations

from dataclasses import dataclass

from shared import secrets
from shared.names import KEYSPACE, TICKS_TABLE


@dataclass(frozen=True)
class Role:
    name: str  # the login role
    password_setting: str  # its password's key in deploys.cassandra.Settings (a secret)
    permissions: tuple[str, ...]  # on TABLE: e.g. MODIFY (INSERT, UPDATE, DELETE), SELECT
    table: str = f"{KEYSPACE}.{TICKS_TABLE}"

    @property
    def secret(self) -> str:
        """The environment variable of its password (shared/secrets.py)."""
        return secrets.variable(self.password_setting)

    def grants(self) -> list[list[str]]:
        """[resource, permission] pairs as `LIST ALL PERMISSIONS OF` names them."""
        return sorted([f"<table {self.table}>", permission] for permission in self.permissions)


ROLES = (
    Role("storage_writer", "cassandra_writer_password", ("MODIFY",)),  # inserts ticks, reads nothing
    Role("dashboard", "cassandra_dashboard_password", ("SELECT",)),  # reads history, writes nothing
)
