"""Run a pyinfra deploy against an inventory, keeping its full log, showing its
progress and reading its result (how many operations changed something) from
pyinfra's own state callbacks (deploys/progress.py)."""
import json
import os
import runpy
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ctl import ROOT, RUN
from ctl.console import Progress
from ctl.hosts import PREFIX_ENV
from deploys.progress import PROGRESS_ENV

LOGS = RUN / "logs"


@dataclass
class DeployResult:
    returncode: int
    changed: int  # operation runs (operation x host) that changed something
    errors: int
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text()


def load_inventory(inventory: str, prefix: str = "") -> dict:
    """An inventory module's namespace, as pyinfra loads it, with local hosts renamed by prefix."""
    env_before = os.environ.get(PREFIX_ENV)
    os.environ[PREFIX_ENV] = prefix
    try:
        return runpy.run_path(str(ROOT / inventory))
    finally:
        if env_before is None:
            os.environ.pop(PREFIX_ENV)
        else:
            os.environ[PREFIX_ENV] = env_before


def containers_of(inventory: str, prefix: str = "") -> list[str]:
    """The local host containers an inventory names (its @docker/<name> hosts)."""
    names = []
    for value in load_inventory(inventory, prefix).values():
        if isinstance(value, list):
            for item in value:
                host = item[0] if isinstance(item, tuple) else item
                if isinstance(host, str) and host.startswith("@docker/") and host[8:] not in names:
                    names.append(host[8:])
    return names


def run_deploy(inventory: str, deploy: str = "deploys/site.py", *, prefix: str = "",
               extra_env: dict | None = None, data: dict | None = None, dry: bool = False,
               log_name: str = "deploy", progress: Progress | None = None) -> DeployResult:
    """Run pyinfra; `data` overrides inventory values for this run (pyinfra's --data).

    Its output goes to the log; its outcome comes from the deploy's progress events
    (deploys/progress.py), which `progress`, if given, shows as they come."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log, events_file = LOGS / f"{log_name}.log", LOGS / f"{log_name}.events"
    events_file.unlink(missing_ok=True)
    env = {**os.environ, PREFIX_ENV: prefix, PROGRESS_ENV: str(events_file), **(extra_env or {})}
    overrides = [arg for key, value in (data or {}).items() for arg in ("--data", f"{key}={value}")]
    # --dry shows the plan (what would change); -y would skip that change detection
    command = [sys.executable, "-m", "pyinfra", inventory, deploy, *overrides] + (["--dry"] if dry else ["-y"])
    events = EventReader(events_file)
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            while process.poll() is None:
                _show(events.new(), progress)
                time.sleep(0.25)
        finally:
            if process.poll() is None:  # interrupted: pyinfra stops with us
                process.terminate()
                process.wait()
    _show(events.new(), progress)
    if progress:
        progress.close()
    ends = [event for event in events.seen if event["event"] == "end"]
    return DeployResult(process.returncode, sum(e["changed"] for e in ends), sum(e["failed"] for e in ends), log)


class EventReader:
    """The events a deploy has written so far (JSON lines), each once."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.seen: list[dict] = []

    def new(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open() as events:
            events.seek(self.offset)
            text = events.read()
        complete = text[:text.rfind("\n") + 1]  # a line still being written waits for the next read
        self.offset += len(complete.encode())
        fresh = [json.loads(line) for line in complete.splitlines() if line]
        self.seen += fresh
        return fresh


def _show(events: list[dict], progress: Progress | None) -> None:
    if progress is None:
        return
    for event in events:
        if event["event"] == "start":
            progress.update(event["name"], f"{event['n']}/{event['total']}", part=event["name"].split(" | ")[0])
        elif event["event"] == "connect":
            progress.update(f"connected to {event['host']}; planning (gathering facts)")
    progress.tick()
