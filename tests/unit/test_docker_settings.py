"""deploys/docker settings: a broken package source or log limit fails before any host
is touched, naming the key; daemon.json follows the settings; the inventories put
the engine where the Mesos agents and Docker Swarm need it."""
import runpy

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT
from deploys import docker
from deploys.inventory import check_inventory
from inventory_kit import never_contacted, refused, write_inventory


def test_defaults_are_debians_package_and_overlay2_with_rotated_logs():
    settings = docker.Settings()
    assert settings.docker_package == "docker.io" and settings.docker_apt_repository is None
    assert docker.daemon_config(settings) == {
        "data-root": "/var/lib/docker", "storage-driver": "overlay2", "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"}}


def test_another_repository_needs_its_key(tmp_path):
    path = write_inventory(tmp_path, "docker_apt_repository = 'https://download.docker.com/linux/debian'\n")
    with pytest.raises(InventoryError, match=r"docker_apt_key_url: missing: docker_apt_repository "
                                             r"https://download\.docker\.com/linux/debian needs its signing key"):
        check_inventory(path, {"docker": never_contacted(1)})


@pytest.mark.parametrize("key, value", [("docker_log_max_size", "'10 MB'"), ("docker_log_max_files", "0"),
                                        ("docker_storage_driver", "'aufs'")])
def test_bad_daemon_settings_are_refused_naming_the_key(tmp_path, key, value):
    refused(tmp_path, {"docker": never_contacted(1)}, rf"group_data/all\.py: {key}: ", all_data=f"{key} = {value}\n")


def test_settings_of_another_source_are_accepted(tmp_path):
    path = write_inventory(tmp_path, """\
        docker_package = "docker-ce"
        docker_apt_repository = "https://download.docker.com/linux/debian"
        docker_apt_component = "stable"
        docker_apt_key_url = "/srv/keys/docker.asc"
        docker_users = ("deploy",)
        """)
    (host,) = check_inventory(path, {"docker": never_contacted(1)})
    assert host.values["docker_package"] == "docker-ce"


@pytest.mark.parametrize("inventory", ["bigdata", "cluster"])
def test_every_local_host_runs_the_engine(inventory):
    namespace = runpy.run_path(str(ROOT / "inventories" / f"{inventory}.py"))
    assert [name for name, _ in namespace["docker"]] == [name for name, _ in namespace["local"]]


@pytest.mark.parametrize("inventory, managers", [("bigdata", 1), ("cluster", 3)])
def test_every_local_host_is_in_the_swarm_with_an_odd_number_of_managers(inventory, managers):
    namespace = runpy.run_path(str(ROOT / "inventories" / f"{inventory}.py"))
    assert [name for name, _ in namespace["swarm_manager"]] == [name for name, _ in namespace["local"]]
    assert len(namespace["swarm_manager"]) == managers


def test_an_even_number_of_swarm_managers_is_refused(tmp_path):
    refused(tmp_path, {"docker": never_contacted(2), "swarm_manager": never_contacted(2)},
            r"swarm_manager: 2 managers: Raft needs a majority")


def test_swarm_workers_need_a_manager(tmp_path):
    refused(tmp_path, {"docker": never_contacted(1), "swarm_worker": never_contacted(1)},
            r"swarm_manager: missing: swarm workers need a manager")


@pytest.mark.parametrize("key, value, says", [
    ("swarm_port", "0", "swarm_port: Input should be greater than or equal to 1"),
    ("swarm_data_path_port", "80", "swarm_data_path_port: Input should be greater than or equal to 1024"),
    ("swarm_node_labels", "{'Zone A': 'x'}", "swarm_node_labels: 'Zone A': a label name is lower-case"),
])
def test_bad_swarm_settings_are_refused_naming_the_key(tmp_path, key, value, says):
    refused(tmp_path, {"docker": never_contacted(1), "swarm_manager": never_contacted(1)}, says,
            all_data=f"{key} = {value}\n")
