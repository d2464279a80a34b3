#!/usr/bin/python3
"""cassandra-cql: a small CQL client for this host's Cassandra node.

Managed by the bigdata bundle (deploys/cassandra); it needs only Debian's
python3-cassandra (the DataStax driver), so hosts need nothing but apt.

    cassandra-cql ping                  exit 0 once this node answers CQL and a login works
    cassandra-cql state                 one JSON line: logins, replication, tables (the deploy's fact)
    cassandra-cql create-superuser      create or update the superuser (CASSANDRA_USER/PASSWORD)
    cassandra-cql drop-default-superuser
    cassandra-cql roles [--passwords]   the services' login roles as CASSANDRA_ROLES (JSON) lists them:
                                        created, granted exactly their permissions, passwords (re)set
    cassandra-cql exec -e 'STATEMENT' | -f FILE [--consistency LOCAL_QUORUM]

Credentials: CASSANDRA_USER and CASSANDRA_PASSWORD in the environment, else the
credentials file (written once the superuser works, readable by root only). Where
the node and that file are: CONFIG, which the deploy writes.
"""
import argparse
import configparser
import json
import logging
import os
import re
import ssl
import sys
import time

from cassandra import AuthenticationFailed, ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import WhiteListRoundRobinPolicy

CONFIG = "/etc/bigdata/cassandra-cql.ini"
DEFAULT_SUPERUSER = ("cassandra", "cassandra")


def node_config(path=CONFIG):
    """(address, native transport port, credentials file, CA file or None: no TLS) from the
    [node] section of `path`."""
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path):
        sys.exit(f"cassandra-cql: {path} is missing (the Cassandra deploy writes it)")
    node = parser["node"]
    return node["address"], node.getint("port"), node["credentials"], node.get("ca")


ADDRESS, PORT, CREDENTIALS, CA = node_config()

logging.basicConfig(level=logging.ERROR)
logging.getLogger("cassandra").setLevel(logging.CRITICAL)  # failures are reported, not logged


class Refused(Exception):
    """The node answered but refused the credentials."""


def connect(user, password, timeout=10, consistency="LOCAL_QUORUM", schema=False):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([ADDRESS]),
                               request_timeout=60, consistency_level=ConsistencyLevel.name_to_value[consistency])
    # over TLS: the node's certificate checked against the CA and the address
    tls = {"ssl_context": ssl.create_default_context(cafile=CA)} if CA else {}
    cluster = Cluster([ADDRESS], port=PORT, auth_provider=PlainTextAuthProvider(user, password), **tls,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                      connect_timeout=timeout, control_connection_timeout=timeout,
                      schema_metadata_enabled=schema, token_metadata_enabled=False)
    try:
        return cluster, cluster.connect()
    except NoHostAvailable as error:
        cluster.shutdown()
        if any(isinstance(e, AuthenticationFailed) or "credentials" in str(e) for e in error.errors.values()):
            raise Refused(str(error)) from None
        raise
    except Exception:
        cluster.shutdown()
        raise


def try_login(user, password):
    """'ok', 'refused' or 'unreachable'."""
    try:
        cluster, _ = connect(user, password, timeout=5)
    except Refused:
        return "refused"
    except Exception:
        return "unreachable"
    cluster.shutdown()
    return "ok"


def saved_credentials():
    parser = configparser.ConfigParser()
    try:
        if parser.read(CREDENTIALS):
            return parser["PlainTextAuthProvider"]["username"], parser["PlainTextAuthProvider"]["password"]
    except (KeyError, PermissionError):
        pass
    return None


def wanted_credentials(required=False):
    user, password = os.environ.get("CASSANDRA_USER"), os.environ.get("CASSANDRA_PASSWORD")
    if user and password:
        return user, password
    if required:
        sys.exit("cassandra-cql: set CASSANDRA_USER and CASSANDRA_PASSWORD")
    return saved_credentials()


def save_credentials(user, password):
    parser = configparser.ConfigParser(interpolation=None)
    parser["PlainTextAuthProvider"] = {"username": user, "password": password}
    temporary = CREDENTIALS + ".new"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        parser.write(out)
    os.replace(temporary, CREDENTIALS)


def quote_name(name):
    return '"' + name.replace('"', '""') + '"'


def quote_text(text):
    return "'" + text.replace("'", "''") + "'"


def session_as(*candidates, **kwargs):
    """The first of the candidate credentials that logs in: (user, cluster, session)."""
    problems = []
    for creds in candidates:
        if not creds:
            continue
        try:
            cluster, session = connect(*creds, **kwargs)
            return creds[0], cluster, session
        except Refused:
            problems.append(f"{creds[0]}: refused")
    sys.exit("cassandra-cql: no credentials work (" + ", ".join(problems or ["none given"]) + ")")


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"cassandra-cql: {what} not reached within {timeout}s")
        time.sleep(1)


def cmd_ping(args):
    for creds in (wanted_credentials(), DEFAULT_SUPERUSER):
        if creds:
            result = try_login(*creds)
            if result == "ok":
                print(f"logged in as {creds[0]}")
                return 0
            if result == "unreachable":
                print(f"{ADDRESS}:{PORT} does not answer CQL", file=sys.stderr)
                return 1
    print("every login was refused", file=sys.stderr)
    return 1


def cmd_state(args):
    wanted = wanted_credentials()
    state = {"configured_login": try_login(*wanted) if wanted else "unknown",
             "default_login": try_login(*DEFAULT_SUPERUSER), "replication": {}, "tables": {}}
    # read as the wanted superuser, else as the saved one (its password about to change), else the default
    saved = saved_credentials()
    usable = wanted if state["configured_login"] == "ok" else (
        saved if saved and saved != wanted and try_login(*saved) == "ok" else (
            DEFAULT_SUPERUSER if state["default_login"] == "ok" else None))
    if usable:
        cluster, session = connect(*usable, consistency="ONE")
        try:
            for row in session.execute("SELECT keyspace_name, replication FROM system_schema.keyspaces"):
                state["replication"][row.keyspace_name] = dict(row.replication)
            for row in session.execute("SELECT keyspace_name, table_name FROM system_schema.tables"):
                state["tables"].setdefault(row.keyspace_name, []).append(row.table_name)
            state["roles"] = {row.role: permissions(session, row.role) for row in
                              session.execute("SELECT role, is_superuser FROM system_auth.roles")
                              if not row.is_superuser}
        finally:
            cluster.shutdown()
    print(json.dumps(state, sort_keys=True))
    return 0


def cmd_create_superuser(args):
    user, password = wanted_credentials(required=True)
    if try_login(user, password) != "ok":
        admin, cluster, session = session_as(saved_credentials(), DEFAULT_SUPERUSER)
        try:
            if admin == user:  # a new password for the same superuser
                session.execute(f"ALTER ROLE {quote_name(user)} WITH PASSWORD = {quote_text(password)}")
            elif session.execute("SELECT role FROM system_auth.roles WHERE role = %s", [user]).one():
                # (Cassandra 5 refuses a second password change within 5 s: one statement)
                session.execute(f"ALTER ROLE {quote_name(user)} WITH PASSWORD = {quote_text(password)} "
                                f"AND SUPERUSER = true AND LOGIN = true")
            else:
                session.execute(f"CREATE ROLE {quote_name(user)} WITH PASSWORD = {quote_text(password)} "
                                f"AND SUPERUSER = true AND LOGIN = true")
        finally:
            cluster.shutdown()
        wait_for(lambda: try_login(user, password) == "ok", f"a login as {user}")
        print(f"superuser {user} ready (set up as {admin})")
    save_credentials(user, password)
    return 0


def cmd_drop_default_superuser(args):
    user, password = wanted_credentials(required=True)
    if user == DEFAULT_SUPERUSER[0]:
        sys.exit("cassandra-cql: refusing to drop the only superuser")
    _, cluster, session = session_as((user, password))
    try:
        if session.execute("SELECT role FROM system_auth.roles WHERE role = %s", [DEFAULT_SUPERUSER[0]]).one():
            session.execute(f"DROP ROLE {quote_name(DEFAULT_SUPERUSER[0])}")
            print("dropped the default superuser")
    finally:
        cluster.shutdown()
    wait_for(lambda: try_login(*DEFAULT_SUPERUSER) == "refused", "refusal of the default superuser")
    return 0


def permissions(session, role):
    """[resource, permission] pairs granted to the role itself, e.g. ["<table stocks.ticks>", "SELECT"]."""
    return sorted([row.resource, row.permission]
                  for row in session.execute(f"LIST ALL PERMISSIONS OF {quote_name(role)} NORECURSIVE"))


def resource_cql(resource):
    """"<table ks.t>" -> "TABLE ks.t", "<keyspace ks>" -> "KEYSPACE ks", "<all keyspaces>" -> "ALL KEYSPACES"."""
    kind, _, name = resource.strip("<>").partition(" ")
    return "ALL KEYSPACES" if resource == "<all keyspaces>" else f"{kind.upper()} {name}"


def cmd_roles(args):
    """Each role in CASSANDRA_ROLES ([{name, password, permissions, table}]): created with LOGIN
    and its password when missing (with --passwords, its password set again), then granted
    exactly its permissions on its table (any other revoked)."""
    roles = json.loads(os.environ.get("CASSANDRA_ROLES") or "[]")
    _, cluster, session = session_as(wanted_credentials(required=True))
    try:
        for role in roles:
            name, password = quote_name(role["name"]), quote_text(role["password"])
            if not session.execute("SELECT role FROM system_auth.roles WHERE role = %s", [role["name"]]).one():
                session.execute(f"CREATE ROLE {name} WITH PASSWORD = {password} AND LOGIN = true "
                                f"AND SUPERUSER = false")
                print(f"created role {role['name']}")
            elif args.passwords:
                session.execute(f"ALTER ROLE {name} WITH PASSWORD = {password} AND LOGIN = true")
                print(f"set the password of role {role['name']}")
            wanted = {(f"<table {role['table']}>", permission) for permission in role["permissions"]}
            granted = {tuple(pair) for pair in permissions(session, role["name"])}
            for resource, permission in sorted(wanted - granted):
                session.execute(f"GRANT {permission} ON {resource_cql(resource)} TO {name}")
                print(f"granted {permission} on {resource} to {role['name']}")
            for resource, permission in sorted(granted - wanted):
                session.execute(f"REVOKE {permission} ON {resource_cql(resource)} FROM {name}")
                print(f"revoked {permission} on {resource} from {role['name']}")
    finally:
        cluster.shutdown()
    for role in roles:
        wait_for(lambda role=role: try_login(role["name"], role["password"]) == "ok", f"a login as {role['name']}")
    return 0


def statements(text):
    """CQL statements of a script: comments dropped, split on ';' outside quotes."""
    text = re.sub(r"(--|//)[^\n]*", "", text)
    parts, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def cmd_exec(args):
    text = args.e if args.e is not None else open(args.f).read()
    _, cluster, session = session_as(wanted_credentials(required=False), consistency=args.consistency,
                                     schema=True)
    try:
        for statement in statements(text):
            result = session.execute(statement)
            if result.column_names:
                for row in result:
                    print(json.dumps(dict(zip(result.column_names, row)), default=str, sort_keys=True))
            if not result.response_future.is_schema_agreed:
                sys.exit(f"cassandra-cql: the nodes did not agree on the schema after: {statement[:80]}")
    finally:
        cluster.shutdown()
    return 0


def main():
    parser = argparse.ArgumentParser(prog="cassandra-cql", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ping").set_defaults(run=cmd_ping)
    commands.add_parser("state").set_defaults(run=cmd_state)
    commands.add_parser("create-superuser").set_defaults(run=cmd_create_superuser)
    commands.add_parser("drop-default-superuser").set_defaults(run=cmd_drop_default_superuser)
    roles = commands.add_parser("roles")
    roles.add_argument("--passwords", action="store_true", help="set the roles' passwords again")
    roles.set_defaults(run=cmd_roles)
    execute = commands.add_parser("exec")
    source = execute.add_mutually_exclusive_group(required=True)
    source.add_argument("-e", help="CQL statements")
    source.add_argument("-f", help="a file of CQL statements")
    execute.add_argument("--consistency", default="LOCAL_QUORUM", choices=sorted(ConsistencyLevel.name_to_value))
    execute.set_defaults(run=cmd_exec)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
