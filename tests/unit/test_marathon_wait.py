"""marathon/wait.py: the one Python-side wait (Marathon deployments, Swarm rollouts)."""
from marathon.wait import attempts


class FakeTime:
    def __init__(self):
        self.now, self.slept = 100.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_a_check_done_at_once_never_sleeps():
    time = FakeTime()
    for _ in attempts(10, 2, clock=time.clock, sleep=time.sleep):
        break
    assert time.slept == []


def test_checks_every_interval_until_the_timeout_then_ends():
    time = FakeTime()
    seen = [time.now for _ in attempts(5, 2, clock=time.clock, sleep=time.sleep)]
    assert seen == [100, 102, 104, 106]  # the last look after the deadline's interval, then it ends
    assert time.slept == [2, 2, 2]
