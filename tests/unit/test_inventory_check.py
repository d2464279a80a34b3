"""A broken inventory fails before any host is touched, naming the key and its file."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT
from deploys.inventory import check_inventory

INVENTORY = """
from deploys.inventory import check_inventory
local = [("@docker/never-contacted", {host_data})]
check_inventory(__file__, globals())
"""


def make_inventory(tmp_path: Path, all_data: str = "", host_data: str = "") -> Path:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text(textwrap.dedent(all_data))
    inventory = tmp_path / "site.py"
    inventory.write_text(INVENTORY.replace("{host_data}", "{" + host_data + "}"))
    return inventory


def run_pyinfra(inventory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyinfra", "-y", str(inventory), "deploys/site.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_invalid_group_value_fails_naming_key_and_file_before_connecting(tmp_path):
    inventory = make_inventory(tmp_path, all_data="nofile_limit = 'lots'\n")
    done = run_pyinfra(inventory)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "group_data/all.py: nofile_limit:" in output and "valid integer" in output
    assert "Connecting" not in output and "never-contacted" not in output.split("invalid inventory")[0]


def test_invalid_host_value_names_the_inventory_file(tmp_path):
    inventory = make_inventory(tmp_path, host_data="'vm_swappiness': -5")
    with pytest.raises(InventoryError, match=r"site\.py: vm_swappiness: .*greater than or equal to 0"):
        check_inventory(str(inventory), {"local": [("@docker/x", {"vm_swappiness": -5})]})


def test_unknown_key_is_named(tmp_path):
    inventory = make_inventory(tmp_path, all_data="java_pakage = 'openjdk-17-jre-headless'\n")
    with pytest.raises(InventoryError, match=r"group_data/all\.py: java_pakage: unknown setting"):
        check_inventory(str(inventory), {"local": ["@docker/x"]})


def test_a_misspelled_setting_with_a_connectors_prefix_is_named_and_the_connectors_own_keys_pass(tmp_path):
    inventory = make_inventory(tmp_path, all_data="docker_packge = 'docker-ce'\n")
    with pytest.raises(InventoryError, match=r"group_data/all\.py: docker_packge: unknown setting"):
        check_inventory(str(inventory), {"local": ["@docker/x"]})
    (tmp_path / "ok").mkdir()
    inventory = make_inventory(tmp_path / "ok", host_data="'docker_identifier': 'x', 'ssh_user': 'debian'")
    assert check_inventory(str(inventory), {"local": [("@docker/x", {"docker_identifier": "x",
                                                                      "ssh_user": "debian"})]})


def test_host_data_overrides_group_data(tmp_path):
    inventory = make_inventory(tmp_path, all_data="vm_swappiness = 10\n")
    (host,) = check_inventory(str(inventory), {"local": [("@docker/x", {"vm_swappiness": 5})]})
    assert host.values["vm_swappiness"] == 5 and host.sources["vm_swappiness"].endswith("site.py")


@pytest.mark.parametrize("inventory", ["inventories/bigdata.py", "inventories/cluster.py"])
def test_project_inventories_are_valid(inventory):
    import runpy
    namespace = runpy.run_path(str(ROOT / inventory))  # raises InventoryError when broken
    assert any(isinstance(v, list) and v for k, v in namespace.items() if not k.startswith("_"))


def test_missing_secret_names_the_key_and_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGDATA_REDIS_PASSWORD")
    inventory = make_inventory(tmp_path, all_data=(
        "from shared.secrets import secret\nredis_password = secret('BIGDATA_REDIS_PASSWORD')\n"))
    with pytest.raises(InventoryError, match=r"site\.py: redis_password: missing \(a secret: set BIGDATA_REDIS_PASSWORD"):
        check_inventory(str(inventory), {"redis": ["@docker/x"]})


def test_unknown_group_is_named(tmp_path):
    inventory = make_inventory(tmp_path)
    with pytest.raises(InventoryError, match=r"site\.py: kafak: unknown group"):
        check_inventory(str(inventory), {"kafak": ["@docker/x"]})

