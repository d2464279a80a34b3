"""The house's rules that code review alone would let slip: imports point down the
layers (README, "Layout"), the components are listed once, and the code passes the linter."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

from deploys import components
from shared.paths import ROOT


def test_imports_point_down_the_layers():
    # the contracts are in pyproject.toml ([tool.importlinter]); a broken one is printed
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _imported_modules(file: Path) -> set[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("file", sorted((ROOT / "inventories").rglob("*.py")), ids=lambda f: f.name)
def test_inventories_use_only_the_inventory_check_and_shared_names(file):
    """Inventories are data for pyinfra: they may check themselves and read secrets and
    host names from the bottom layer, never reach into deploys or the control side."""
    ours = {m for m in _imported_modules(file) if m.split(".")[0] in {"ctl", "deploys", "marathon", "services", "shared"}}
    assert ours <= {"deploys.inventory", "shared.secrets", "shared.local_hosts", "shared.paths"}, ours


def test_every_deploy_package_is_in_the_component_list():
    """Adding a component is a package and one line in deploys/components.py: a package
    with settings that is not listed would never be checked nor deployed."""
    listed = {component.settings for component in components.ALL}
    packages = [p.parent.name for p in (ROOT / "deploys").glob("*/__init__.py")]
    unlisted = [name for name in packages
                if getattr(importlib.import_module(f"deploys.{name}"), "Settings", None) not in listed]
    assert not unlisted, f"deploys/components.py does not list {unlisted}"
    assert len({c.name for c in components.ALL}) == len(components.ALL), "a component listed twice"


def test_the_code_passes_the_linter():
    # ruff's configuration is in pyproject.toml ([tool.ruff])
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
