"""Run a pyinfra deploy against an inventory, keeping its full log and reading
its result: how many operations changed something, on how many hosts."""
import os
import re
import runpy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ctl import ROOT, RUN
from ctl.hosts import PREFIX_ENV

LOGS = RUN / "logs"


@dataclass
class DeployResult:
    returncode: int
    changed: int  # operations that changed something (pyinfra's "Success" column)
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
               log_name: str = "deploy") -> DeployResult:
    """Run pyinfra; `data` overrides inventory values for this run (pyinfra's --data)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{log_name}.log"
    env = {**os.environ, PREFIX_ENV: prefix, **(extra_env or {})}
    overrides = [arg for key, value in (data or {}).items() for arg in ("--data", f"{key}={value}")]
    # --dry shows the plan (what would change); -y would skip that change detection
    command = [sys.executable, "-m", "pyinfra", inventory, deploy, *overrides] + (["--dry"] if dry else ["-y"])
    with log.open("w") as out:
        done = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT)
    changed, errors = totals(log.read_text())
    return DeployResult(done.returncode, changed, errors, log)


def totals(output: str) -> tuple[int, int]:
    """(operations that changed something, errors) from pyinfra's results table."""
    found = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", output)
    count = (lambda v: 0 if v == "-" else int(v))
    return (count(found[2]), count(found[3])) if found else (0, 0)
