"""Readiness: a deploy waits until its service really answers before the next runs."""
from pyinfra.operations import server


def wait_until(name: str, check: str, timeout: int = 120, **op_kwargs):
    """An operation that retries `check` (a shell command) once a second until it
    succeeds, failing after `timeout` seconds with the check's last output."""
    script = (f"for attempt in $(seq {timeout}); do "
              f"out=$( {{ {check} ; }} 2>&1 ) && exit 0; sleep 1; done; "
              f'echo "not ready after {timeout}s: $out" >&2; exit 1')
    return server.shell(name=name, commands=[script], **op_kwargs)
