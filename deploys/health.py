"""Readiness: a deploy waits until its service really answers before the next runs."""
from pyinfra.operations import server


def retry_script(check: str, timeout: int, stopped: str | None = None) -> str:
    """Shell that retries `check` (a shell command) once a second until it succeeds,
    failing after `timeout` seconds of wall clock (a check may start a JVM) with the
    check's last output; with `stopped` (a service), failing at once, with its journal,
    when that service is no longer active."""
    give_up = (f"systemctl is-active --quiet {stopped} || {{ echo '{stopped} stopped' >&2; "
               f"journalctl -u {stopped} -n 30 --no-pager >&2; exit 1; }}; ") if stopped else ""
    return (f"deadline=$(($(date +%s) + {timeout})); until out=$( {{ {check} ; }} 2>&1 ); do "
            f'[ "$(date +%s)" -ge "$deadline" ] && {{ echo "not ready after {timeout}s: $out" >&2; exit 1; }}; '
            f"{give_up}sleep 1; done")


def wait_until(name: str, check: str, timeout: int = 120, **op_kwargs):
    """An operation that retries `check` until it succeeds (see `retry_script`)."""
    return server.shell(name=name, commands=[retry_script(check, timeout)], **op_kwargs)


def restart_and_wait(name: str, service: str, *checks: str, timeout: int, before: tuple[str, ...] = (),
                     fail_if_stopped: bool = False, **op_kwargs):
    """An operation that restarts `service` (after the `before` commands) and waits until
    each of `checks` succeeds in turn, one host at a time, so that a cluster keeps its
    quorum (cp-ansible's restart_and_wait). fail_if_stopped: give up as soon as the
    service stops rather than waiting out the timeout."""
    return server.shell(
        name=name, _serial=True,
        commands=[*before, f"systemctl restart {service}",
                  *(retry_script(check, timeout, service if fail_if_stopped else None) for check in checks)],
        **op_kwargs)
