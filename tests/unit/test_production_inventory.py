"""inventories/production.example.py: a valid real-cluster inventory once its secrets
are set, refused before any host is touched when a secret is missing or a value is
broken, naming the key. Its hosts (*.bigdata.example) are never contacted."""
import runpy
import subprocess
import sys

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT
from shared import secrets
from deploys.inventory import check_inventory, inventory_groups

EXAMPLE = ROOT / "inventories/production.example.py"


def load() -> dict:
    return runpy.run_path(str(EXAMPLE))  # ends with check_inventory: raises when invalid


def test_example_is_valid_with_its_secrets_set():
    hosts = {h.name: h for h in check_inventory(str(EXAMPLE), load())}
    assert len(hosts) == 6
    data1, control1 = hosts["data1.bigdata.example"], hosts["control1.bigdata.example"]
    # group data, host data and the secrets of group_data/all.py all reach the hosts
    assert data1.values["kafka_heap_mb"] == 6144 and data1.values["cassandra_rack"] == "rack1"
    assert control1.values["ssh_user"] == "deploy" and "kafka_heap_mb" not in control1.values
    assert control1.values["redis_password"] == secrets.secret("BIGDATA_REDIS_PASSWORD")
    assert control1.sources["redis_password"].endswith("group_data/all.py")


@pytest.mark.parametrize("group, key, value, message", [
    ("kafka", "kafka_heap_mb", 64, "greater than or equal to 128"),
    ("cassandra", "cassandra_superuser", "cassandra", "must not be 'cassandra'"),
    ("all", "nofile_limit", "lots", "valid integer"),
    ("spark_master", "spark_master_webui_port", 8080, "port 8080 is also spark_master_webui_port"),
])
def test_a_broken_group_value_is_named(group, key, value, message):
    namespace = load()
    hosts, data = namespace[group]
    namespace[group] = (hosts, {**data, key: value})
    with pytest.raises(InventoryError, match=message) as error:
        check_inventory(str(EXAMPLE), namespace)
    assert key in str(error.value) and "production.example.py" in str(error.value)


def test_a_broken_host_value_is_named():
    namespace = load()
    # a host's data goes with it into every group that lists it
    for group, (hosts, data) in inventory_groups(namespace).items():
        namespace[group] = ([(h[0], {**h[1], "cassandra_rack": "rack 1"}) if h[0] == "data1.bigdata.example" else h
                             for h in hosts], data)
    with pytest.raises(InventoryError, match=r"production\.example\.py: cassandra_rack: String should match"):
        check_inventory(str(EXAMPLE), namespace)


def test_an_even_zookeeper_ensemble_is_refused():
    namespace = load()
    hosts, data = namespace["zookeeper"]
    namespace["zookeeper"] = (hosts[:2], data)
    with pytest.raises(InventoryError, match=r"production\.example\.py: zookeeper: 2 hosts: .*odd number"):
        check_inventory(str(EXAMPLE), namespace)


@pytest.mark.parametrize("name", secrets.NAMES)
def test_a_missing_secret_is_named(name, monkeypatch):
    monkeypatch.delenv(name)
    with pytest.raises(InventoryError, match=rf"missing \(a secret: set {name} in the environment"):
        load()


def test_dry_run_without_secrets_fails_before_touching_any_host():
    env = {"PATH": "/usr/bin:/bin", "BIGDATA_SECRETS_FILE": "/dev/null"}  # no secret anywhere
    done = subprocess.run([sys.executable, "-m", "pyinfra", str(EXAMPLE), "deploys/site.py", "--dry"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert all(name in output for name in secrets.NAMES), output
    assert "Connecting" not in output and "bigdata.example]" not in output
