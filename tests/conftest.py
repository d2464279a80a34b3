"""Shared fixtures: the local host rig (systemd containers provisioned by the
bundle's own deploys) for the tests that need real hosts."""
import os
import signal

import pytest

from deploys import secrets


def pytest_configure(config):
    # Tests never use real secrets: each run makes its own, inherited by the deploys it runs.
    for name, value in secrets.generate().items():
        os.environ.setdefault(name, value)

    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so fixtures still remove their hosts.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
