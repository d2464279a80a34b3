"""Shared fixtures: the local host rig (systemd containers provisioned by the
bundle's own deploys) for the tests that need real hosts."""
import os
import signal

import pytest


def pytest_configure(config):
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so fixtures still remove their hosts.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
