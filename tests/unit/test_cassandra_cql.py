"""cassandra-cql, the plain program the Cassandra deploy installs: it finds its node
in the small config file the deploy renders (deploys/cassandra/templates)."""
import sys
import types
from pathlib import Path

import jinja2
import pytest

from ctl import ROOT

PROGRAM = ROOT / "deploys/cassandra/files/cassandra_cql.py"
CONFIG_TEMPLATE = ROOT / "deploys/cassandra/templates/cassandra-cql.ini.j2"


def load(config: Path, monkeypatch):
    """The program as a module, reading `config`, with a stand-in for the driver
    (python3-cassandra lives on the hosts, not here)."""
    driver = {name: types.ModuleType(name) for name in
              ("cassandra", "cassandra.auth", "cassandra.cluster", "cassandra.policies")}
    driver["cassandra"].AuthenticationFailed, driver["cassandra"].ConsistencyLevel = Exception, object
    driver["cassandra.auth"].PlainTextAuthProvider = object
    for name in ("EXEC_PROFILE_DEFAULT", "Cluster", "ExecutionProfile", "NoHostAvailable"):
        setattr(driver["cassandra.cluster"], name, object)
    driver["cassandra.policies"].WhiteListRoundRobinPolicy = object
    for name, module in driver.items():
        monkeypatch.setitem(sys.modules, name, module)
    source = PROGRAM.read_text().replace('CONFIG = "/etc/bigdata/cassandra-cql.ini"', f'CONFIG = "{config}"')
    assert str(config) in source
    module = types.ModuleType("cassandra_cql")
    exec(compile(source, str(PROGRAM), "exec"), module.__dict__)
    return module


def test_reads_the_node_from_the_rendered_config(tmp_path, monkeypatch):
    config = tmp_path / "cassandra-cql.ini"
    config.write_text(jinja2.Template(CONFIG_TEMPLATE.read_text()).render(
        address="10.0.0.7", port=9142, credentials="/etc/bigdata/cassandra/credentials"))
    cql = load(config, monkeypatch)
    assert (cql.ADDRESS, cql.PORT, cql.CREDENTIALS, cql.CA) == \
        ("10.0.0.7", 9142, "/etc/bigdata/cassandra/credentials", None)  # no TLS: plaintext
    config.write_text(jinja2.Template(CONFIG_TEMPLATE.read_text()).render(
        address="10.0.0.7", port=9142, credentials="/c", ca="/etc/bigdata/tls/ca.crt"))
    assert load(config, monkeypatch).CA == "/etc/bigdata/tls/ca.crt"


def test_says_so_when_the_config_is_missing(tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="cassandra-cql.ini is missing"):
        load(tmp_path / "cassandra-cql.ini", monkeypatch)


def test_splits_a_cql_script_outside_quotes(tmp_path, monkeypatch):
    config = tmp_path / "c.ini"
    config.write_text("[node]\naddress = a\nport = 1\ncredentials = c\n")
    cql = load(config, monkeypatch)
    assert cql.statements("-- comment\nINSERT INTO t (a) VALUES ('x;y'); SELECT 1;\n") == [
        "INSERT INTO t (a) VALUES ('x;y')", "SELECT 1"]


def test_names_a_listed_resource_as_grant_and_revoke_want_it(tmp_path, monkeypatch):
    config = tmp_path / "c.ini"
    config.write_text("[node]\naddress = a\nport = 1\ncredentials = c\n")
    cql = load(config, monkeypatch)
    assert cql.resource_cql("<table stocks.ticks>") == "TABLE stocks.ticks"
    assert cql.resource_cql("<keyspace stocks>") == "KEYSPACE stocks"
    assert cql.resource_cql("<all keyspaces>") == "ALL KEYSPACES"
