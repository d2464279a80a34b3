"""Cassandra's settings: impossible values fail when the inventory loads, naming the
key, before any host is touched; the values the deploy derives from them."""
import subprocess
import sys
import textwrap

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT
from deploys.cassandra import (Settings, default_heap_mb, off_heap_mb, render_schema, replication,
                               replication_cql, same_replication, schema_tables)
from deploys.inventory import check_inventory

THREE = ["@docker/a", "@docker/b", "@docker/c"]
PASSWORD = ("cassandra_password = 'x' * 20\ncassandra_writer_password = 'w' * 20\n"
            "cassandra_dashboard_password = 'd' * 20\n")


def make_inventory(tmp_path, all_data: str, groups: str):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(textwrap.dedent(all_data))
    inventory = tmp_path / "site.py"
    inventory.write_text(f"from deploys.inventory import check_inventory\n{groups}\n"
                         "check_inventory(__file__, globals())\n")
    return inventory


def test_replication_factor_above_the_node_count_fails_naming_the_key(tmp_path):
    inventory = make_inventory(tmp_path, PASSWORD + "cassandra_replication_factor = 4\n", "")
    with pytest.raises(InventoryError, match=r"group_data/all\.py: cassandra_replication_factor: 4 is more "
                                             r"than the 3 Cassandra node\(s\)"):
        check_inventory(str(inventory), {"cassandra": THREE})


def test_replication_factor_up_to_the_node_count_is_accepted(tmp_path):
    inventory = make_inventory(tmp_path, PASSWORD + "cassandra_replication_factor = 3\n", "")
    hosts = check_inventory(str(inventory), {"cassandra": THREE})
    assert [h.values["cassandra_replication_factor"] for h in hosts] == [3, 3, 3]


def test_bad_replication_factor_stops_pyinfra_before_it_connects(tmp_path):
    inventory = make_inventory(tmp_path, PASSWORD + "cassandra_replication_factor = 2\n",
                               'cassandra = ["@docker/never-contacted"]')
    done = subprocess.run([sys.executable, "-m", "pyinfra", "-y", str(inventory), "deploys/site.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "cassandra_replication_factor: 2 is more than the 1 Cassandra node(s)" in output
    assert "Connecting" not in output and "never-contacted" not in output.split("invalid inventory")[0]


def test_missing_password_names_the_key_and_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGDATA_CASSANDRA_PASSWORD", raising=False)
    inventory = make_inventory(tmp_path, "from shared.secrets import secret\n"
                                         "cassandra_password = secret('BIGDATA_CASSANDRA_PASSWORD')\n", "")
    with pytest.raises(InventoryError, match=r"site\.py: cassandra_password: missing \(a secret: set "
                                             r"BIGDATA_CASSANDRA_PASSWORD"):
        check_inventory(str(inventory), {"cassandra": ["@docker/x"]})


def test_missing_password_does_not_concern_hosts_without_cassandra(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGDATA_CASSANDRA_PASSWORD", raising=False)
    inventory = make_inventory(tmp_path, "", "")
    check_inventory(str(inventory), {"local": ["@docker/x"]})


@pytest.mark.parametrize("value, message", [
    ("'cassandra'", "must not be 'cassandra'"),
    ("'Robert; DROP'", "should match pattern"),
])
def test_superuser_name_is_checked(tmp_path, value, message):
    inventory = make_inventory(tmp_path, PASSWORD + f"cassandra_superuser = {value}\n", "")
    with pytest.raises(InventoryError, match=rf"cassandra_superuser: .*{message}"):
        check_inventory(str(inventory), {"cassandra": ["@docker/x"]})


def test_port_clash_with_another_cassandra_port_is_named(tmp_path):
    inventory = make_inventory(tmp_path, PASSWORD + "cassandra_jmx_port = 9042\n", "")
    with pytest.raises(InventoryError, match=r"port 9042 is also cassandra_native_transport_port"):
        check_inventory(str(inventory), {"cassandra": ["@docker/x"]})


def test_short_password_is_refused(tmp_path):
    inventory = make_inventory(tmp_path, "cassandra_password = 'short'\n", "")
    with pytest.raises(InventoryError, match=r"cassandra_password: String should have at least 16 characters"):
        check_inventory(str(inventory), {"cassandra": ["@docker/x"]})


@pytest.mark.parametrize("memory_mb, heap_mb", [
    (None, 1024), (1024, 512), (2048, 1024), (8192, 2048), (24105, 6026), (65536, 8192),
])
def test_heap_follows_cassandras_rule(memory_mb, heap_mb):
    assert default_heap_mb(memory_mb) == heap_mb


def test_off_heap_memory_shrinks_with_a_small_heap():
    small, large = off_heap_mb(1024), off_heap_mb(8192)
    assert small == {"file_cache_mb": 128, "networking_cache_mb": 64, "key_cache_mb": 51,
                     "direct_memory_mb": 512}
    assert large["file_cache_mb"] == 512 and large["networking_cache_mb"] == 128


@pytest.mark.parametrize("sizes, rf, expected", [
    ({"dc1": 1}, None, {"dc1": 1}),
    ({"dc1": 3}, None, {"dc1": 3}),
    ({"dc1": 5, "dc2": 2}, None, {"dc1": 3, "dc2": 2}),
    ({"dc1": 5}, 2, {"dc1": 2}),
])
def test_replication_is_min_three_and_nodes_per_data_center(sizes, rf, expected):
    assert replication(sizes, rf) == expected


def test_replication_comparison_reads_system_schema_maps():
    shown = {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3"}
    assert same_replication(shown, {"dc1": 3})
    assert not same_replication(shown, {"dc1": 1})
    assert not same_replication({"class": "org.apache.cassandra.locator.SimpleStrategy",
                                 "replication_factor": "1"}, {"dc1": 1})
    assert not same_replication(None, {"dc1": 1})


def test_schema_is_rendered_with_the_keyspace_and_its_replication():
    text = (ROOT / "services/core/schema.cql").read_text()
    rendered = render_schema(text, "stocks", {"dc1": 3}, ticks_ttl_days=7)
    assert "CREATE KEYSPACE IF NOT EXISTS stocks" in rendered
    assert "{'class': 'NetworkTopologyStrategy', 'dc1': 3}" in rendered
    assert "ALTER TABLE stocks.ticks WITH default_time_to_live = 604800" in rendered
    assert "{keyspace}" not in rendered and "{replication}" not in rendered and "{ticks_ttl}" not in rendered
    assert replication_cql({"dc1": 3, "dc2": 1}) == "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 1}"
    assert schema_tables(text) == ["ticks"]


def test_defaults_are_the_deploys_data_defaults():
    defaults = Settings.defaults()
    assert "cassandra_password" not in defaults  # required: a secret
    assert defaults["cassandra_superuser"] == "bigdata_admin"
    assert defaults["cassandra_heap_mb"] is None and defaults["cassandra_replication_factor"] is None


def test_each_app_using_cassandra_logs_in_as_its_own_role_with_that_roles_secret():
    """The apps' definitions and deploys/cassandra/roles.py agree: every app that reaches
    Cassandra has its own role (never the superuser), its password from that role's secret."""
    from deploys.cassandra import Settings
    from deploys.cassandra.roles import ROLES
    from marathon import apps
    from shared.secrets import NAMES
    logins = []
    for app in apps.load():
        env = app.definition["env"]
        if "BIGDATA_CASSANDRA_PASSWORD" in env:
            source = app.definition["secrets"][env["BIGDATA_CASSANDRA_PASSWORD"]["secret"]]["source"]
            logins.append((env["BIGDATA_CASSANDRA_USER"], source))
    assert sorted(logins) == sorted((role.name, role.secret) for role in ROLES), logins
    for role in ROLES:
        assert role.password_setting in Settings.model_fields and role.secret in NAMES
        assert role.name != Settings.model_fields["cassandra_superuser"].default
