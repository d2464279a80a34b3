"""The rig leaves no container or network behind, however its run ends."""
import os
import signal
import subprocess
import sys
import time

import pytest

from ctl import ROOT, hosts


def start_probe(tmp_path):
    ready = tmp_path / "ready"
    probe = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cluster/interrupt_probe.py"],
        cwd=ROOT, env={**os.environ, "RIG_PROBE_READY": str(ready)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        if probe.poll() is not None or time.monotonic() > deadline:
            probe.kill()
            pytest.fail(f"the probe run never got its hosts up:\n{probe.communicate()[0][-3000:]}")
        time.sleep(0.5)
    owner = f"rig:{probe.pid}"
    assert owner in hosts.owners(), "the probe's hosts should be up while it runs"
    return probe, owner


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_removes_its_hosts(tmp_path, host_image, signum):
    probe, owner = start_probe(tmp_path)
    probe.send_signal(signum)
    output = probe.communicate(timeout=120)[0]
    assert probe.returncode != 0, output[-2000:]
    assert owner not in hosts.owners(), f"containers or networks of {owner} remain after {signum!r}"


def test_killed_run_is_swept_by_the_next(tmp_path, host_image):
    probe, owner = start_probe(tmp_path)
    probe.kill()  # SIGKILL: no chance to clean up
    probe.wait()
    assert owner in hosts.owners()
    hosts.remove_orphans()  # what every rig session does first
    assert owner not in hosts.owners()


def test_a_host_started_where_a_killed_run_left_its_volume_gets_a_fresh_engine(host_image):
    """`./bigdata up` after a killed run: the node's engine volume survived its node (a named
    volume outlives `docker rm --volumes`), holding a dead engine's swarm. The new node must
    not inherit it (CI's run of session 15 did: "already part of a swarm")."""
    name, owner = f"leftover-{os.getpid()}", f"rig:{os.getpid()}-leftover"
    volume = f"{name}-docker"
    subprocess.run(["docker", "volume", "create", volume], check=True, capture_output=True)
    subprocess.run(["docker", "run", "--rm", f"--volume={volume}:/v", "--entrypoint", "sh", host_image, "-c",
                    "mkdir -p /v/swarm && echo dead > /v/swarm/state.json"], check=True, capture_output=True)
    try:
        hosts.start([name], image=host_image, network=f"{name}-net", owner=owner)
        left = subprocess.run(["docker", "exec", name, "ls", "-A", "/var/lib/docker"], capture_output=True,
                              text=True, check=True).stdout.split()
        assert left == [], f"the new host's engine volume holds {left}"
    finally:
        hosts.remove(owner)
        subprocess.run(["docker", "volume", "rm", "--force", volume], capture_output=True)
