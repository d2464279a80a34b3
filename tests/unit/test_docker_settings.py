"""deploys/docker settings: a broken package source or log limit fails before any host
is touched, naming the key; daemon.json follows the settings; the inventories put
the engine where the Mesos agents and the one-node runtime need it."""
import runpy

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT
from deploys import docker
from deploys.settings import check_inventory
from inventory_kit import never_contacted, write_inventory


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
    path = write_inventory(tmp_path, f"{key} = {value}\n")
    with pytest.raises(InventoryError, match=rf"group_data/all\.py: {key}: "):
        check_inventory(path, {"docker": never_contacted(1)})


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
