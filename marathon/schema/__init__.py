"""Checks an app definition before anything is sent anywhere, in two layers:

1. **Marathon's language**: `app.schema.json`, derived from Marathon's RAML types by
   `derive.py` (each `$defs` entry names the RAML file it comes from). Marathon's own
   published example payloads pass it; unknown fields, wrong types and bad enums fail.
2. **The platform's profile** (`PROFILE` below, not from the RAML): what every
   service of this platform must carry to run as intended — a Docker image
   `bigdata/<name>:<tag>`, an exec-form command (`args`, so that SIGTERM reaches the
   service itself), resources, a MESOS_HTTP health check on /health, an upgrade
   strategy, a kill grace period, and passwords only as secret references.

Every problem is reported with the app it belongs to:

    marathon/apps/producer.json (/bigdata/producer): container.docker.image: 'image' is a required property
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_FILE = Path(__file__).resolve().with_name("app.schema.json")

# What a service of this platform must carry (the platform's rules, not Marathon's).
PROFILE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$comment": "The bigdata platform's own rules for its apps, on top of Marathon's schema.",
    "type": "object",
    "required": ["args", "container", "cpus", "mem", "instances", "env", "healthChecks",
                 "upgradeStrategy", "taskKillGracePeriodSeconds", "labels"],
    "properties": {
        "id": {"pattern": "^/bigdata/[a-z0-9][-a-z0-9]*$"},
        "args": {"minItems": 1},
        "cmd": {"not": {}, "$comment": "exec form only (args): a shell would swallow SIGTERM"},
        "container": {
            "required": ["type", "docker"],
            "properties": {
                "type": {"const": "DOCKER"},
                "docker": {
                    "required": ["image"],
                    "properties": {
                        "image": {"pattern": "^bigdata/[a-z0-9][-a-z0-9]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
                    },
                },
            },
        },
        "env": {
            "patternProperties": {
                "(PASSWORD|SECRET|TOKEN)$": {"type": "object", "required": ["secret"],
                                             "$comment": "a password is a secret reference, never a value"},
            },
        },
        "healthChecks": {
            "minItems": 1,
            "items": {
                "required": ["protocol", "path", "portIndex", "gracePeriodSeconds", "intervalSeconds",
                             "timeoutSeconds", "maxConsecutiveFailures"],
                "properties": {"protocol": {"const": "MESOS_HTTP"}, "path": {"const": "/health"}},
            },
        },
        "upgradeStrategy": {"required": ["minimumHealthCapacity", "maximumOverCapacity"]},
        "labels": {"required": ["io.bigdata.service"]},
    },
}


class AppDefinitionError(ValueError):
    """An app definition breaks Marathon's schema or the platform's profile; the
    message starts with the app (its file and its id)."""

    def __init__(self, app: str, problems: list[str]):
        self.app = app
        self.problems = problems
        super().__init__(f"{app}: " + ("; ".join(problems) if len(problems) == 1 else
                                       f"{len(problems)} problems:\n  " + "\n  ".join(problems)))


@lru_cache(maxsize=1)
def app_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


@lru_cache(maxsize=1)
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    return Draft202012Validator(app_schema()), Draft202012Validator(PROFILE)


def _where(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return path or "(the app)"


def _describe(error: ValidationError, layer: str) -> str:
    if error.context:  # a union (anyOf): say what the closest alternative wanted
        error = best_match(error.context)
    source = error.schema.get("$comment") if isinstance(error.schema, dict) else None
    origin = f" [{layer}: {source}]" if source and layer == "Marathon" else f" [{layer}]"
    return f"{_where(error)}: {error.message}{origin}"


def problems(definition, *, profile: bool = True) -> list[str]:
    """Every problem of one definition ("path: message [layer]"), Marathon's schema first."""
    marathon, platform = _validators()
    found = [_describe(e, "Marathon") for e in sorted(marathon.iter_errors(definition), key=_order)]
    if profile and isinstance(definition, dict):
        found += [_describe(e, "platform") for e in sorted(platform.iter_errors(definition), key=_order)]
        found += _secret_reference_problems(definition)
    return found


def _order(error: ValidationError):
    return [str(p) for p in error.absolute_path], error.message


def _secret_reference_problems(definition: dict) -> list[str]:
    declared = definition.get("secrets") or {}
    found = []
    for name, value in (definition.get("env") or {}).items():
        if isinstance(value, dict) and isinstance(value.get("secret"), str) and value["secret"] not in declared:
            found.append(f"env.{name}: refers to secret {value['secret']!r}, which `secrets` does not declare "
                         f"(declared: {', '.join(sorted(declared)) or 'none'}) [platform]")
    for name in declared:
        if not any(isinstance(v, dict) and v.get("secret") == name for v in (definition.get("env") or {}).values()):
            found.append(f"secrets.{name}: declared but no env variable refers to it [platform]")
    return found


def app_label(definition, source: str | None = None) -> str:
    """How messages name an app: its file and its id, whichever are known."""
    app_id = definition.get("id") if isinstance(definition, dict) else None
    if source and app_id:
        return f"{source} ({app_id})"
    return source or (str(app_id) if app_id else "an app definition without an id")


def validate(definition, source: str | None = None, *, profile: bool = True) -> None:
    """Raise AppDefinitionError naming the app if the definition has any problem."""
    found = problems(definition, profile=profile)
    if found:
        raise AppDefinitionError(app_label(definition, source), found)
