"""Progress output for long work: one line when a step starts, one when it ends."""
import contextlib
import shlex
import subprocess
import sys
import time
from typing import NoReturn


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


@contextlib.contextmanager
def step(message: str):
    say(f"{message} ...")
    started = time.monotonic()
    yield
    say(f"{message}: done in {time.monotonic() - started:.1f}s")


def run(*args, quiet=False, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing with the command line and its error output."""
    kwargs.setdefault("check", True)
    if quiet:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
    try:
        return subprocess.run([str(a) for a in args], **kwargs)
    except subprocess.CalledProcessError as error:
        output = error.stderr or error.stdout if isinstance(error.stderr, str) else ""
        detail = "\n".join((output or "").strip().splitlines()[-30:])  # the end says what went wrong
        raise SystemExit(f"command failed ({error.returncode}): {shlex.join(map(str, args))}\n{detail}") from None


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)
