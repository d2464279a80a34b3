"""Marathon's app against its definition: the fields that differ, looking only at what
the definition sets (Marathon adds defaults and status fields of its own)."""
from __future__ import annotations

# Ports a definition leaves at 0 for Marathon to assign: any reported value matches 0.
ASSIGNED_WHEN_ZERO = {"port", "servicePort", "hostPort", "containerPort"}
# Collections the platform owns: one the definition leaves out must be empty in Marathon.
OWNED_COLLECTIONS = ("constraints", "env", "secrets", "labels", "healthChecks", "portDefinitions", "fetch",
                     "dependencies", "readinessChecks", "acceptedResourceRoles", "args")
NOT_COMPARED = {"id", "instances"}  # the id is the key; instances are scaled, not updated


def differences(desired: dict, reported: dict) -> list[str]:
    """The fields (paths) where Marathon's app differs from the definition, looking
    only at what the definition sets (and at owned collections it leaves empty)."""
    found = []
    for key, value in desired.items():
        if key in NOT_COMPARED:
            continue
        found += _diff(value, reported.get(key), key, key)
    for key in OWNED_COLLECTIONS:
        if key not in desired and reported.get(key):
            found.append(key)
    return found


def _diff(desired, reported, path: str, key: str) -> list[str]:
    if key == "constraints" and isinstance(desired, list) and isinstance(reported, list):
        desired, reported = _constraints(desired), _constraints(reported)
    if isinstance(desired, dict):
        if not isinstance(reported, dict):
            return [] if not desired and reported is None else [path]
        found = []
        for k, v in desired.items():
            found += _diff(v, reported.get(k), f"{path}.{k}", k)
        return found
    if isinstance(desired, list):
        if not isinstance(reported, list):
            return [] if not desired and reported is None else [path]
        if len(desired) != len(reported):
            return [path]
        found = []
        for i, (d, r) in enumerate(zip(desired, reported)):
            found += _diff(d, r, f"{path}[{i}]", key)
        return found
    if key in ASSIGNED_WHEN_ZERO and desired == 0 and isinstance(reported, int):
        return []
    if isinstance(desired, (int, float)) and not isinstance(desired, bool) \
            and isinstance(reported, (int, float)) and not isinstance(reported, bool):
        return [] if float(desired) == float(reported) else [path]
    return [] if desired == reported else [path]


def _constraints(constraints: list) -> list:
    """Marathon may report ["hostname", "UNIQUE"] as ["hostname", "UNIQUE", ""]."""
    return [c[:-1] if isinstance(c, list) and len(c) == 3 and c[2] in ("", None) else c for c in constraints]
