"""Scratch inventories for the settings tests: a group_data/all.py and an inventory
file's path in a temporary folder, and hosts that are never contacted."""
import textwrap
from pathlib import Path

import pytest
from pyinfra.api.exceptions import InventoryError

from deploys.inventory import check_inventory


def write_inventory(folder: Path, all_data: str = "") -> str:
    (folder / "group_data").mkdir(exist_ok=True)
    (folder / "group_data" / "all.py").write_text(textwrap.dedent(all_data))
    path = folder / "site.py"
    path.write_text("# stands in for an inventory file\n")
    return str(path)


def never_contacted(count: int) -> list[str]:
    return [f"@docker/never-contacted-{i}" for i in range(1, count + 1)]


def refused(folder: Path, groups: dict[str, list[str]], says: str, all_data: str = "") -> None:
    """An inventory of these groups, with this group_data/all.py, fails its check with a
    message matching `says` (a regex), before any host is contacted."""
    path = write_inventory(folder, all_data)
    with pytest.raises(InventoryError, match=says):
        check_inventory(path, groups)
