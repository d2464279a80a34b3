"""Waiting on the control machine's side: a check repeated until it is done or its time
is up (a Marathon deployment, a Swarm stack's rollout). A shell check retried on a host
is an operation instead: deploys.health.wait_until."""
import time
from typing import Callable, Iterator


def attempts(timeout: float, interval: float, *, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Yields at once, then every `interval` seconds until `timeout` seconds have passed:
    a loop over it returns when its check is done and ends when the time is up."""
    deadline = clock() + timeout
    while True:
        yield
        if clock() > deadline:
            return
        sleep(interval)
