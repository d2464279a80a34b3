"""The Vagrantfile: `vagrant up --provider=docker` from the repository makes the
"bigdata" machine from the project's host image and provisions it (its trigger runs
`./bigdata provision`, i.e. the pyinfra site deploy, through Vagrant's connector); `vagrant provision` again changes nothing; `vagrant destroy -f` leaves
no container and no volume.

Only the docker provider runs here: VirtualBox and libvirt need hardware
virtualisation, which this machine (itself a VM, without nested virtualisation)
lacks, and their Debian box cannot be downloaded offline.

The deploy is limited to Redis (BIGDATA_COMPONENTS=redis): this test is about
Vagrant making, reaching and provisioning its machine, which one component shows
as well as five; every component is tested on the rig's hosts by the other
cluster tests, and deploying them all again would add minutes and prove nothing new.

The machine is named vagrant<pid>-bigdata and Vagrant's state lives in a temporary
folder, so that a user's own "bigdata" machine or container is never touched.
"""
import os
import re
import socket
import subprocess

import pytest

from ctl import ROOT, prereqs
from ctl.provision import LOGS

PREFIX = f"vagrant{os.getpid()}-"
NAME = f"{PREFIX}bigdata"
VOLUME = f"{NAME}-var-lib-docker"  # the machine's own Docker data (the Vagrantfile names it)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def vagrant(host_image, tmp_path_factory, progress):
    """vagrant(*args): runs Vagrant in the repository against the test's own machine."""
    prereqs.apt_install("vagrant")
    state = tmp_path_factory.mktemp("vagrant")
    env = {**os.environ,
           "VAGRANT_HOME": str(state / "home"), "VAGRANT_DOTFILE_PATH": str(state / "dotfile"),
           "VAGRANT_CHECKPOINT_DISABLE": "1",
           "BIGDATA_LOCAL_PREFIX": PREFIX, "BIGDATA_VAGRANT_IMAGE": host_image,
           "BIGDATA_DASHBOARD_PORT": str(free_port()), "BIGDATA_COMPONENTS": "redis"}

    def run(*args: str) -> subprocess.CompletedProcess:
        progress(f"vagrant {' '.join(args)}")
        return subprocess.run(["vagrant", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)

    run.env = env
    try:
        yield run
    finally:  # whatever a failed test left
        if _container_exists():
            run("destroy", "-f")
        subprocess.run(["docker", "rm", "--force", "--volumes", NAME], capture_output=True)
        subprocess.run(["docker", "volume", "rm", "--force", VOLUME], capture_output=True)


@pytest.fixture(scope="module")
def up(vagrant):
    networks_before = _vagrant_networks()
    done = vagrant("up", "--provider=docker")
    done.networks_before = networks_before
    assert done.returncode == 0, done.stdout[-4000:]
    return done


def _container_exists() -> bool:
    return subprocess.run(["docker", "inspect", NAME], capture_output=True).returncode == 0


def _vagrant_networks() -> set[str]:
    """Networks the docker provider makes (for a private network) are named vagrant_network*."""
    names = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True,
                           text=True, check=True).stdout.split()
    return {name for name in names if name.startswith("vagrant_network") or PREFIX in name}


def site_changes(output: str) -> int:
    """What `./bigdata provision` says the site deploy changed (pyinfra's own log: LOGS/up.log)."""
    said = re.search(r"deploys/site\.py: (\d+) operation\(s\) changed something", output)
    assert said, output[-4000:]
    return int(said[1])


def _inspect(template: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", template, NAME], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_up_provisions_the_machine_with_the_site_deploy(up):
    assert site_changes(up.stdout) > 0
    assert f"@vagrant/{NAME}" in (LOGS / f"{PREFIX}up.log").read_text()  # reached through Vagrant's ssh, not docker exec
    # Redis answers on the machine, with the password, on the address its name resolves to
    password = os.environ["BIGDATA_REDIS_PASSWORD"]
    reply = subprocess.run(["docker", "exec", "-e", f"REDISCLI_AUTH={password}", NAME, "redis-cli", "--no-auth-warning",
                            "--user", "admin", "--tls", "--cacert", "/etc/bigdata/tls/ca.crt", "-h", NAME, "ping"],
                           capture_output=True, text=True)
    assert reply.stdout.strip() == "PONG", reply.stdout + reply.stderr


def test_machine_keeps_docker_data_on_a_volume_and_publishes_the_dashboard_port(up, vagrant):
    mounts = _inspect('{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}').split()
    assert f"volume:{VOLUME}:/var/lib/docker" in mounts
    published = _inspect('{{range $p, $b := .HostConfig.PortBindings}}{{$p}}={{(index $b 0).HostPort}} {{end}}')
    assert f"8050/tcp={vagrant.env['BIGDATA_DASHBOARD_PORT']}" in published.split()
    assert _inspect("{{.Config.Hostname}}") == NAME


def test_provision_again_changes_nothing(up, vagrant):
    done = vagrant("provision")
    assert done.returncode == 0, done.stdout[-4000:]
    assert site_changes(done.stdout) == 0


def test_destroy_leaves_no_container_and_no_volume(up, vagrant):
    done = vagrant("destroy", "-f")
    assert done.returncode == 0, done.stdout[-4000:]
    assert not _container_exists()
    assert subprocess.run(["docker", "volume", "inspect", VOLUME], capture_output=True).returncode != 0
    assert _vagrant_networks() <= up.networks_before
