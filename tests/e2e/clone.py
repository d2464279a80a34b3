"""A clean clone of the code under test, as a newcomer gets it: the committed files
and nothing else (no .venv, no secrets.env, no logs). In a dirty work tree the clone
holds the work tree as it is (tracked and new files, .gitignore honoured), so the
test sees what is being changed; in CI's clean clone that is exactly HEAD."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ctl import ROOT

REF = "refs/bigdata-tests/clone"  # a moment only: the clone fetches it, then it is deleted


def git(*args: str, cwd: Path = ROOT, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **(env or {})}, check=True,
                          capture_output=True, text=True).stdout.strip()


def snapshot() -> str:
    """A commit of the work tree as it is, made without touching the index or any branch."""
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        shutil.copy(ROOT / ".git" / "index", index)
        env = {"GIT_INDEX_FILE": str(index)}
        git("add", "--all", env=env)
        tree = git("write-tree", env=env)
    if tree == git("rev-parse", "HEAD^{tree}"):
        return git("rev-parse", "HEAD")
    return git("-c", "user.name=tests", "-c", "user.email=tests@localhost", "commit-tree", tree, "-p", "HEAD",
               "-m", "the work tree under test")


def clean_clone(destination: Path) -> Path:
    commit = snapshot()
    git("update-ref", REF, commit)
    try:
        git("clone", "--quiet", "--no-checkout", str(ROOT), str(destination), cwd=destination.parent)
        git("fetch", "--quiet", str(ROOT), REF, cwd=destination)
        git("checkout", "--quiet", "--detach", commit, cwd=destination)
    finally:
        git("update-ref", "-d", REF)
    return destination
