"""Scratch inventories for the settings tests: a group_data/all.py and an inventory
file's path in a temporary folder, and hosts that are never contacted."""
import textwrap
from pathlib import Path


def write_inventory(folder: Path, all_data: str = "") -> str:
    (folder / "group_data").mkdir(exist_ok=True)
    (folder / "group_data" / "all.py").write_text(textwrap.dedent(all_data))
    path = folder / "site.py"
    path.write_text("# stands in for an inventory file\n")
    return str(path)


def never_contacted(count: int) -> list[str]:
    return [f"@docker/never-contacted-{i}" for i in range(1, count + 1)]
