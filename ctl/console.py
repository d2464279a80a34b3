"""What `./bigdata` tells its user: progress of long work, and refusals with the
exit code that says which kind of problem stopped it."""
import contextlib
import fcntl
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from enum import IntEnum
from typing import NoReturn


class Exit(IntEnum):
    """./bigdata's exit codes: each kind of refusal has its own (README, `./bigdata --help`)."""
    OK = 0
    UNHEALTHY = 1      # `status`: a component or app does not answer as it should (named)
    USAGE = 2          # the command line: an unknown command or option
    PREREQUISITE = 3   # this machine lacks something it cannot install (Docker unusable, not root)
    MACHINE = 4        # too little memory or disk, the dashboard's port taken
    SETTINGS = 5       # an invalid inventory, secret or BIGDATA_* setting
    FAILED = 6         # a deploy, image build, command or rollout failed (its log named)
    NOT_UP = 7         # the local node is not there: `./bigdata up` first
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


EXIT_CODES_HELP = "exit codes:\n" + "\n".join(
    f"  {code.value:<3} {text}" for code, text in (
        (Exit.OK, "done; `status`: everything healthy"),
        (Exit.UNHEALTHY, "`status`: a component or app is not healthy (named in the output)"),
        (Exit.USAGE, "an unknown command or option"),
        (Exit.PREREQUISITE, "this machine lacks something ./bigdata cannot install (e.g. Docker access)"),
        (Exit.MACHINE, "too little memory or disk, or the dashboard's port is taken"),
        (Exit.SETTINGS, "an invalid inventory, secret or BIGDATA_* setting"),
        (Exit.FAILED, "a deploy, image build or command failed (the line names its log)"),
        (Exit.NOT_UP, "the local node is not running: `./bigdata up` starts it"),
        (Exit.INTERRUPTED, "interrupted (Ctrl-C, SIGTERM)"),
    ))


class Refusal(SystemExit):
    """An expected condition that stops a command: one line saying what to do, and its exit code."""

    def __init__(self, message: str, code: Exit):
        super().__init__(int(code))
        self.message = message


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


@contextlib.contextmanager
def step(message: str):
    say(f"{message} ...")
    started = time.monotonic()
    yield
    say(f"{message}: done in {time.monotonic() - started:.1f}s")


@contextlib.contextmanager
def taking_turns(lock: Path, what: str):
    """Holds `lock` (a file) for the block: concurrent callers on this machine (a developer
    and a test run, or a test run's two lanes) build `what` one at a time, the later one
    finding it done."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{what}: another build is running; waiting for it")
            fcntl.flock(held, fcntl.LOCK_EX)
        yield


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
        fail(f"command failed ({error.returncode}): {shlex.join(map(str, args))}\n{detail}", Exit.FAILED)


def fail(message: str, code: Exit = Exit.FAILED) -> NoReturn:
    """Stop with `error: message` on stderr and the exit code of its kind."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise Refusal(message, code)


class Progress:
    """Live progress of one long piece of work: on a terminal, one line rewritten in
    place (what runs, n of total, elapsed); elsewhere (CI logs, pipes) plain lines, one
    when a new part starts and one while an operation runs long."""

    STILL_RUNNING_EVERY = 30.0  # seconds between "still running" lines off a terminal

    def __init__(self, first: str = "starting", stream=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.current = first
        self.current_since = self.started
        self.part = None
        self.counter = ""
        self.last_plain = self.started
        self._drawn = False

    @staticmethod
    def _clock(seconds: float) -> str:
        minutes, seconds = divmod(int(seconds), 60)
        return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"

    def update(self, current: str, counter: str = "", part: str | None = None) -> None:
        """Now running `current` (counter: e.g. "12/119"; part: e.g. the component)."""
        now = time.monotonic()
        self.current, self.counter, self.current_since = current, counter, now
        if not self.tty and part and part != self.part:
            self._plain(f"[{counter}] {part}")
        self.part = part or self.part
        self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        running = now - self.current_since
        if self.tty:
            counter = f"[{self.counter}] " if self.counter else ""
            head = f"    {self._clock(now - self.started):>6} {counter}"
            tail = f" ({self._clock(running)})" if running >= 5 else ""
            room = shutil.get_terminal_size((120, 20)).columns - 1 - len(head) - len(tail)
            current = self.current if len(self.current) <= room else self.current[:max(room - 3, 0)] + "..."
            self.stream.write("\r\033[K" + head + current + tail)
            self.stream.flush()
            self._drawn = True
        elif running >= self.STILL_RUNNING_EVERY and now - self.last_plain >= self.STILL_RUNNING_EVERY:
            self._plain(f"[{self.counter}] still running: {self.current} ({self._clock(running)})")

    def _plain(self, text: str) -> None:
        self.last_plain = time.monotonic()
        print(f"    {self._clock(self.last_plain - self.started):>6} {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
