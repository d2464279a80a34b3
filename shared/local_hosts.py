"""How the inventories name the local hosts: the containers of `./bigdata up` and of the
test rig (ctl/hosts.py starts them), or the Vagrant machine."""
import os

PREFIX_ENV = "BIGDATA_LOCAL_PREFIX"
LOCAL_NODE = "bigdata"  # the one-node platform's host (inventories/bigdata.py, ./bigdata up)

CONNECTOR_ENV = "BIGDATA_CONNECTOR"
# How pyinfra reaches a local host, and the data that connector needs beyond the name.
CONNECTORS = {
    "docker": {},  # a container of ./bigdata up or the test rig
    # the Vagrant machine (the Vagrantfile's trigger sets BIGDATA_CONNECTOR=vagrant):
    # ssh as the vagrant user, with sudo; each machine made gets a new host key,
    # which Vagrant itself does not check either, so none is kept
    "vagrant": {"_sudo": True, "ssh_known_hosts_file": os.devnull},
}


def local_hosts(*names: str) -> list[tuple[str, dict]]:
    """Inventory entries for local hosts: containers reached with pyinfra's docker
    connector, or the Vagrant machine when BIGDATA_CONNECTOR=vagrant.

    BIGDATA_LOCAL_PREFIX renames them (the test rig uses it so that its hosts never
    collide with a platform a user has running).
    """
    prefix = os.environ.get(PREFIX_ENV, "")
    connector = os.environ.get(CONNECTOR_ENV) or "docker"
    if connector not in CONNECTORS:
        raise ValueError(f"{CONNECTOR_ENV}={connector!r}: one of {', '.join(CONNECTORS)}")
    return [(f"@{connector}/{prefix}{name}", {"address": f"{prefix}{name}", **CONNECTORS[connector]})
            for name in names]
