"""deploys/pipeline/rollout.py: the stack's rollout read from what the manager answers."""
from types import SimpleNamespace

import pytest
from pyinfra.api.exceptions import DeployError

from deploys.pipeline import rollout
from marathon import wait


class Manager:
    """Answers each command with the next of `answers` (the service listing), or `other`
    for the commands that read Swarm's messages."""

    def __init__(self, *answers: str, other: str = "why"):
        self.answers, self.other = list(answers), other

    def run_shell_command(self, command):
        text = self.answers.pop(0) if "service ps -q" in str(command) else self.other
        return True, SimpleNamespace(stdout=text, stdout_lines=text.splitlines())


@pytest.fixture(autouse=True)
def fake_time(monkeypatch):
    """Each look 50 s after the one before, without sleeping."""
    now = [0.0]

    def sleep(seconds):
        now[0] += 50

    monkeypatch.setattr(rollout, "attempts", lambda timeout, interval: wait.attempts(
        timeout, interval, clock=lambda: now[0], sleep=sleep))


def test_returns_once_every_replica_of_the_wanted_version_runs():
    manager = Manager("s_a 2 updating\n  running d1\n  running d0", "s_a 2 completed\n  running d1\n  running d1")
    rollout.wait_for_rollout(manager, {"s_a": "d1"}, timeout_s=60)
    assert manager.answers == []


def test_a_rolled_back_update_fails_at_once_with_swarms_words():
    manager = Manager("s_a 2 rollback_started\n  running d0", other="update failed: unhealthy")
    with pytest.raises(DeployError, match="s_a: the update failed, and Swarm rolled it back.*unhealthy"):
        rollout.wait_for_rollout(manager, {"s_a": "d1"}, timeout_s=60)


def test_not_converged_in_time_names_what_waits():
    manager = Manager(*["s_a 2 \n  running d1"] * 3)
    with pytest.raises(DeployError, match=r"not converged after 60s: s_a \(1/2 of this version running\)"):
        rollout.wait_for_rollout(manager, {"s_a": "d1"}, timeout_s=60)
    assert manager.answers == []  # looked at 0, 50 and 100 s
