"""./bigdata's command line: --help and a mistyped command answer before any
environment exists; each expected refusal is one line with the exit code of its kind
(listed in --help), never a traceback."""
import shutil
import subprocess
import sys

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT, cli, local
from ctl.console import EXIT_CODES_HELP, Exit, Refusal, fail


@pytest.fixture
def bare_checkout(tmp_path):
    """The entry point, the ctl package and the bottom layer it stands on (shared/, the
    standard library only) alone: no .venv, nothing installed."""
    shutil.copy(ROOT / "bigdata", tmp_path / "bigdata")
    for package in ("ctl", "shared"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def run_entry_point(folder, *args):
    return subprocess.run([str(folder / "bigdata"), *args], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["up", "--help"], ["logs", "--help"], ["scale", "--help"],
                                  ["test", "--help"]])
def test_help_answers_without_a_python_environment(bare_checkout, args):
    done = run_entry_point(bare_checkout, *args)
    assert done.returncode == 0, done.stderr
    assert "usage: ./bigdata" in done.stdout and "exit codes:" in done.stdout
    assert not (bare_checkout / ".venv").exists(), "help must not build the environment"


@pytest.mark.parametrize("args, says", [(["stauts"], "invalid choice: 'stauts'"),
                                        (["logs"], "the following arguments are required: component"),
                                        (["status", "--verbose"], "unrecognized arguments: --verbose")])
def test_a_wrong_command_line_is_refused_at_once(bare_checkout, args, says):
    done = run_entry_point(bare_checkout, *args)
    assert done.returncode == Exit.USAGE, done
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (bare_checkout / ".venv").exists()


def test_every_exit_code_is_documented_once():
    for code in Exit:
        assert sum(line.split()[0] == str(code.value) for line in EXIT_CODES_HELP.splitlines()[1:]) == 1, code
    assert len({int(code) for code in Exit}) == len(Exit), "each kind of refusal has its own code"


def test_fail_says_one_line_and_carries_its_code(capsys):
    with pytest.raises(Refusal) as refusal:
        fail("only 2 GiB free: free some space", Exit.MACHINE)
    assert refusal.value.code == Exit.MACHINE
    assert capsys.readouterr().err == "error: only 2 GiB free: free some space\n"


@pytest.mark.parametrize("raised, code, says", [
    (Refusal("said already", Exit.PREREQUISITE), Exit.PREREQUISITE, ""),
    (InventoryError("invalid inventory settings:\n  inventories/bigdata.py: redis_password: missing"),
     Exit.SETTINGS, "error: invalid inventory settings:"),
    (KeyboardInterrupt(), Exit.INTERRUPTED, "error: interrupted;"),
])
def test_expected_conditions_end_with_their_code_and_no_traceback(monkeypatch, capsys, raised, code, says):
    def command(args):
        raise raised
    monkeypatch.setattr(cli, "run_command", command)
    assert cli.main(["status"]) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_status_of_a_node_that_is_not_running_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(local, "_running", lambda name: False)
    assert local.status() == Exit.NOT_UP
    assert "node is not running: `./bigdata up` starts it" in capsys.readouterr().out


def test_logs_of_an_unknown_component_names_the_known_ones(capsys):
    with pytest.raises(Refusal) as refusal:
        local.logs("kafak")
    assert refusal.value.code == Exit.USAGE
    err = capsys.readouterr().err
    assert "unknown component or app 'kafak'" in err and "kafka" in err and "producer" in err


@pytest.mark.parametrize("request_", ["storage-writer", "storage-writer=three", "writer=3", "storage-writer=-1"])
def test_scale_refuses_what_is_not_app_equals_replicas(monkeypatch, capsys, request_):
    monkeypatch.setattr(local, "_running", lambda name: pytest.fail("refused before the node is asked"))
    with pytest.raises(Refusal) as refusal:
        local.scale([request_])
    assert refusal.value.code == Exit.USAGE
    assert "give app=replicas, e.g. storage-writer=3" in capsys.readouterr().err


def test_up_makes_its_secrets_before_anything_reads_the_inventory(monkeypatch):
    """The crash a newcomer met: the inventory was read before the secrets existed."""
    calls = []
    monkeypatch.setattr(local, "ensure_secrets", lambda: calls.append("secrets"))
    monkeypatch.setattr(local, "ensure_ca", lambda: calls.append("ca"))
    monkeypatch.setattr(local.prereqs, "ensure_docker", lambda: calls.append("docker"))
    monkeypatch.setattr(local, "preflight", lambda: calls.append("preflight"))

    def stop_after_prepare():
        calls.append("prepare")
        raise Refusal("stop here", Exit.FAILED)
    with pytest.raises(Refusal):
        local.up(stop_after_prepare)
    assert calls == ["secrets", "ca", "docker", "preflight", "prepare"]


def test_the_module_parsing_the_command_line_needs_only_the_standard_library():
    """./bigdata parses with the system's python3 before .venv exists."""
    probe = ("import sys; import ctl.cli; "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyinfra', 'pydantic', 'deploys')); "
             "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("argv, target, returns, code", [
    (["status"], "status", Exit.NOT_UP, Exit.NOT_UP),
    (["logs", "kafka", "-n", "5"], "logs", Exit.OK, Exit.OK),
    (["scale", "producer=2"], "scale", Exit.USAGE, Exit.USAGE),
    (["down"], "down", None, Exit.OK),
])
def test_each_command_runs_its_own_function_and_ends_with_its_code(monkeypatch, argv, target, returns, code):
    called = []

    def stand_in(name):
        def run(*args, **kwargs):
            called.append((name, args, kwargs))
            return returns
        return run
    for name in ("up", "provision", "status", "logs", "scale", "down"):
        monkeypatch.setattr(local, name, stand_in(name))
    assert cli.main(argv) == code
    assert [name for name, _, _ in called] == [target]
    if target == "logs":
        assert called[0][1:] == (("kafka",), {"follow": False, "lines": 5})


def test_the_test_run_ends_with_the_slowest_tests_of_both_lanes(tmp_path):
    """`./bigdata test` lists the slowest tests of both lanes together, from their JUnit
    reports (time: setup, call and teardown); a lane killed before writing one is left out."""
    from ctl import testrun
    (tmp_path / "test-one-node.xml").write_text(
        '<testsuites><testsuite><testcase classname="tests.e2e.test_up" name="test_a" time="120.5"/>'
        '<testcase classname="tests.cluster.test_kafka" name="test_b" time="3.0"/></testsuite></testsuites>')
    (tmp_path / "test-three-node.xml").write_text(
        '<testsuites><testsuite><testcase classname="tests.cluster.test_zookeeper" name="test_c" time="60"/>'
        '</testsuite></testsuites>')
    reports = [tmp_path / "test-one-node.xml", tmp_path / "test-three-node.xml", tmp_path / "test-missing.xml"]
    assert testrun.slowest(reports, n=2) == [(120.5, "one-node", "tests.e2e.test_up::test_a"),
                                             (60.0, "three-node", "tests.cluster.test_zookeeper::test_c")]
