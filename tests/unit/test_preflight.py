"""`./bigdata up` stops before it changes anything when this machine cannot hold the
platform, with a sentence that says what to do. The readings (memory, disk, the
node's state, Docker) are simulated; the busy port is a real listening socket."""
import os
import socket

import pytest

from ctl import local, prereqs
from ctl.console import Exit

NODE = "preflight-test-node"  # never looked up: _running is simulated


@pytest.fixture
def healthy(monkeypatch):
    """A machine that passes every check: each test breaks one reading."""
    monkeypatch.setattr(prereqs, "docker_answers", lambda: True)
    monkeypatch.setattr(local, "node", lambda: NODE)
    monkeypatch.setattr(local, "_running", lambda name: False)
    monkeypatch.setattr(local, "_meminfo_gib", lambda key: 20.0)
    monkeypatch.setattr(local, "_docker_root", lambda: "/var/lib/docker")
    monkeypatch.setattr(local, "_disk_free_gib", lambda path: 100.0)
    monkeypatch.setattr(local, "_container_ports", lambda: [])
    with socket.socket() as probe:  # a port nobody holds
        probe.bind(("0.0.0.0", 0))
        monkeypatch.setenv(local.DASHBOARD_PORT_ENV, str(probe.getsockname()[1]))
    return monkeypatch


def refusal(capsys, code: Exit) -> str:
    """The one line preflight refuses with; its exit code must be of the refusal's kind."""
    with pytest.raises(SystemExit) as stopped:
        local.preflight()
    assert stopped.value.code == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_healthy_machine_passes(healthy):
    local.preflight()


def test_no_permission_on_the_docker_socket_says_how_to_get_it(healthy, capsys, tmp_path):
    healthy.setattr(prereqs, "docker_answers", lambda: False)
    healthy.setattr(prereqs, "DOCKER_SOCKET", tmp_path / "docker.sock")
    (tmp_path / "docker.sock").touch()
    healthy.delenv("DOCKER_HOST", raising=False)
    healthy.setattr(prereqs.os, "access", lambda path, mode: False)  # root may always: simulate a user
    message = refusal(capsys, Exit.PREREQUISITE)
    assert "no permission to use the Docker engine" in message
    assert "usermod -aG docker $USER" in message and "run as root" in message


def test_permission_problem_stops_ensure_docker_before_installing(healthy, capsys, tmp_path):
    healthy.setattr(prereqs, "docker_answers", lambda: False)
    healthy.setattr(prereqs, "DOCKER_SOCKET", tmp_path / "docker.sock")
    (tmp_path / "docker.sock").touch()
    healthy.delenv("DOCKER_HOST", raising=False)
    healthy.setattr(prereqs.os, "access", lambda path, mode: False)
    healthy.setattr(prereqs, "apt_install", lambda *p: pytest.fail("must not try to install Docker"))
    with pytest.raises(SystemExit):
        prereqs.ensure_docker()
    assert "usermod -aG docker" in capsys.readouterr().err


def test_an_engine_that_does_not_answer_says_how_to_start_it(healthy, capsys, tmp_path):
    healthy.setattr(prereqs, "docker_answers", lambda: False)
    healthy.setattr(prereqs, "DOCKER_SOCKET", tmp_path / "absent.sock")
    assert "`./bigdata prereqs` starts it" in refusal(capsys, Exit.PREREQUISITE)


def test_too_little_memory_says_what_to_do(healthy, capsys):
    healthy.setattr(local, "_meminfo_gib", lambda key: 2.5)
    message = refusal(capsys, Exit.MACHINE)
    assert "only 2.5 GiB of memory is available" in message and f"needs {local.MIN_MEMORY_GIB} GiB" in message
    assert "stop other workloads or use a bigger machine" in message


def test_memory_is_not_asked_for_again_when_the_node_already_runs(healthy):
    healthy.setattr(local, "_meminfo_gib", lambda key: 2.5)  # the running node uses it
    healthy.setattr(local, "_running", lambda name: True)
    local.preflight()


def test_too_little_disk_says_what_to_do(healthy, capsys):
    healthy.setattr(local, "_disk_free_gib", lambda path: 3.2)
    message = refusal(capsys, Exit.MACHINE)
    assert "only 3.2 GiB free under /var/lib/docker" in message and f"needs {local.MIN_DISK_GIB} GiB" in message
    assert "docker system prune" in message


@pytest.fixture
def busy_port(healthy):
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        healthy.setenv(local.DASHBOARD_PORT_ENV, str(port))
        yield port


def test_a_port_held_by_a_process_names_it_and_another_port(busy_port, capsys):
    message = refusal(capsys, Exit.MACHINE)
    assert f"port {busy_port}, where the dashboard is to be published, is in use by" in message
    # ss names the holder where it may see every process (as root, like ./bigdata up)
    assert f"(pid {os.getpid()})" in message if os.geteuid() == 0 else "another process" in message
    suggested = int(message.split(f"{local.DASHBOARD_PORT_ENV}=")[1].split()[0])
    assert suggested > busy_port and not local._port_busy(suggested)
    assert f"`{local.DASHBOARD_PORT_ENV}={suggested} ./bigdata up`" in message


def test_a_port_published_by_a_container_names_the_container(busy_port, healthy, capsys):
    healthy.setattr(local, "_container_ports",
                    lambda: [("other", "0.0.0.0:5432->5432/tcp"), ("web", f"0.0.0.0:{busy_port}->80/tcp")])
    message = refusal(capsys, Exit.MACHINE)
    assert "in use by the container web (`docker stop web`)" in message


def test_our_running_node_may_hold_the_port(busy_port, healthy):
    healthy.setattr(local, "_running", lambda name: True)
    local.preflight()


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_a_dashboard_port_that_is_no_port_is_refused(healthy, capsys, value):
    healthy.setenv(local.DASHBOARD_PORT_ENV, value)
    assert f"{local.DASHBOARD_PORT_ENV}='{value}' is not a port number" in refusal(capsys, Exit.SETTINGS)


@pytest.mark.parametrize("value", ["localhost", "0.0.0.256", "every"])
def test_a_dashboard_address_that_is_no_ip_address_is_refused(healthy, capsys, value):
    healthy.setenv(local.DASHBOARD_ADDRESS_ENV, value)
    assert f"{local.DASHBOARD_ADDRESS_ENV}='{value}' is not an IP address" in refusal(capsys, Exit.SETTINGS)


def test_the_dashboard_is_published_on_loopback_unless_asked_otherwise(monkeypatch):
    monkeypatch.delenv(local.DASHBOARD_ADDRESS_ENV, raising=False)
    assert local.dashboard_address() == "127.0.0.1"
    monkeypatch.setenv(local.DASHBOARD_ADDRESS_ENV, "0.0.0.0")
    assert local.dashboard_address() == "0.0.0.0"
