"""The check that runs when an inventory loads, before pyinfra touches any host: every
host's merged data against every component's settings model (deploys/components.py).

A broken value fails naming the key and the file it came from:

    inventories/group_data/all.py: nofile_limit: Input should be a valid integer
"""
from __future__ import annotations

import ast
import functools
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pyinfra.api.exceptions import InventoryError

from deploys.components import ALL
from deploys.settings import ComponentSettings

# Groups that carry settings but no deploy of their own: "local" gathers the hosts
# that run as containers on this machine.
EXTRA_GROUPS = ("all", "local")


@functools.cache
def _connector_keys() -> frozenset[str]:
    """The host data keys pyinfra's connectors read themselves (ssh_user, docker_identifier,
    ...): not ours to check. pyinfra's own arguments (_sudo, ...) start with "_"."""
    from pyinfra.api.connectors import get_all_connectors
    return frozenset(key for connector in get_all_connectors().values()
                     for key in (getattr(connector, "data_meta", None) or {}))


@dataclass
class HostSettings:
    """One host's merged data, remembering which file each key came from."""

    name: str
    inventory: str
    groups: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def update(self, data: dict[str, Any], source: str) -> None:
        for key, value in data.items():
            self.values[key] = value
            self.sources[key] = source


def _group_data(folder: Path) -> dict[str, tuple[dict, str]]:
    """group name -> (its data, the file it came from), read as pyinfra reads it."""
    found = {}
    for file in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        module = runpy.run_path(str(file))
        imported = _imported_names(file)  # pyinfra drops imported names too
        data = {key: value for key, value in module.items() if not key.startswith("__") and key not in imported}
        found[file.stem] = (data, _relative(file))
    return found


def _imported_names(file: Path) -> set[str]:
    """The names a module binds by import, as pyinfra_cli's loader finds them (importing
    pyinfra_cli itself would monkey-patch this whole process for gevent)."""
    names = set()
    for node in ast.parse(file.read_text(encoding="utf-8"), filename=str(file)).body:
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return names


def _inventory_names(group_data_dir: Path) -> set[str]:
    """Each inventory file is a group of its own in pyinfra (inventories/cluster.py -> "cluster")."""
    return {f.stem for f in group_data_dir.parent.glob("*.py")}


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _hosts_of(group) -> list[tuple[str, dict]]:
    hosts = group[0] if isinstance(group, tuple) else group
    return [(h, {}) if isinstance(h, str) else (h[0], h[1]) for h in hosts]


def collect(inventory_file: str, groups: dict[str, Any]) -> list[HostSettings]:
    """Merge group data and host data for each host, in pyinfra's order of precedence."""
    inventory_source = _relative(Path(inventory_file))
    group_data = _group_data(Path(inventory_file).parent / "group_data")
    hosts: dict[str, HostSettings] = {}
    host_data: dict[str, dict] = {}
    # a group written as (hosts, data) in the inventory file carries data of its own
    inline_data = {name: group[1] for name, group in groups.items() if isinstance(group, tuple)}
    for group_name, group in groups.items():
        for name, data in _hosts_of(group):
            hosts.setdefault(name, HostSettings(name, inventory_source, ["all", Path(inventory_file).stem]))
            hosts[name].groups.append(group_name)
            host_data.setdefault(name, {}).update(data)
    for host in hosts.values():
        for group_name in dict.fromkeys(host.groups):  # "all" first: the most general
            host.update(inline_data.get(group_name, {}), inventory_source)
            if group_name in group_data:  # pyinfra lets a group_data file override the inline data
                host.update(*group_data[group_name])
        host.update(host_data[host.name], inventory_source)
    return list(hosts.values())


def _check_host(host: HostSettings, models: list[type[ComponentSettings]],
                group_sizes: dict[str, int]) -> list[str]:
    known = {key for model in models for key in model.model_fields}
    connector_keys = _connector_keys()
    problems = [
        f"{host.sources[key]}: {key}: unknown setting (not a setting of any deploy; a typo?)"
        for key in host.values
        if key not in known and key not in connector_keys and not key.startswith("_") and key != "address"
    ]
    ports: dict[int, tuple[str, str]] = {}  # port -> (key, where its value came from)
    for model in models:
        if not set(model.groups) & set(host.groups):
            continue
        values = {k: v for k, v in host.values.items() if k in model.model_fields and v is not None}
        try:
            settings = model(**values)
        except ValidationError as error:
            for item in error.errors():
                key = str(item["loc"][0]) if item["loc"] else "?"
                if item["type"] == "missing":
                    hint = model.model_fields[key].description or "set it in the inventory or its group_data"
                    problems.append(f"{host.inventory}: {key}: missing ({hint})")
                else:
                    problems.append(f"{host.sources.get(key, 'defaults')}: {key}: {item['msg']} (host {host.name})")
            continue
        for key, message in settings.cluster_problems(group_sizes):
            # a problem may name a group (its size), which the inventory file defines
            source = host.sources.get(key, host.inventory if key in group_sizes else "defaults")
            problems.append(f"{source}: {key}: {message}")
        for key, port in model.ports(settings).items():
            source = host.sources.get(key, f"{model.__module__} (default)")
            if port in ports and ports[port][0] != key:
                other, other_source = ports[port]
                problems.append(f"{source}: {key}: port {port} is also {other} on host {host.name} "
                                f"({other} from {other_source})")
            ports.setdefault(port, (key, source))
    return problems


def inventory_groups(namespace: dict[str, Any]) -> dict[str, Any]:
    """The names in an inventory module that are host groups, as pyinfra sees them."""
    def is_host(item):
        return isinstance(item, str) or (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str))

    def is_group(value):
        hosts = value[0] if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict) else value
        return isinstance(hosts, list) and all(is_host(h) for h in hosts)

    return {k: v for k, v in namespace.items() if not k.startswith("_") and is_group(v)}


def check_inventory(inventory_file: str, namespace: dict[str, Any]) -> list[HostSettings]:
    """Fail before any host is touched if a setting is missing or invalid.

    Call it last in an inventory file: `check_inventory(__file__, globals())`.
    """
    groups = inventory_groups(namespace)
    models = [component.settings for component in ALL]
    source = _relative(Path(inventory_file))
    known_groups = {g for model in models for g in model.groups} | set(EXTRA_GROUPS) | {Path(inventory_file).stem}
    problems = [f"{source}: {name}: unknown group (known: {', '.join(sorted(known_groups - {'all'}))})"
                for name in groups if name not in known_groups]
    group_data_dir = Path(inventory_file).parent / "group_data"
    problems += [f"{_relative(f)}: unknown group {f.stem!r} (no inventory group or deploy has that name)"
                 for f in sorted(group_data_dir.glob("*.py")) if f.stem not in known_groups | _inventory_names(group_data_dir)]
    hosts = collect(inventory_file, groups)
    group_sizes = {name: len(_hosts_of(group)) for name, group in groups.items()}
    for host in hosts:
        problems += [p for p in _check_host(host, models, group_sizes) if p not in problems]
    if problems:
        raise InventoryError("invalid inventory settings:\n  " + "\n  ".join(problems))
    return hosts
