"""The one description of how each service runs: a Marathon 1.10 app definition per
service, as plain JSON beside this file (`<service>.json`, submit-able as it is).

Whatever runs the services reads them through this module: `python -m
marathon.submit` sends them to Marathon, and where no Mesos runs, the one-node
runtime starts the same definitions as containers. What a site changes at run time
is applied here, the same way for both, and never written into a second copy:

- `with_image_tag` / `with_image_tags`: the tag of the images this checkout built
  (`bigdata/<name>:<tag>`, one tag for all or one per repository; the files say
  `latest` until a build names one);
- `with_env`: site settings (where Kafka, Cassandra and Redis are) for every app;
  the files set only secrets: every other setting has its documented default in
  services/core/settings.py;
- `with_instances`: scaling;
- `inline_secrets`: each `{"secret": name}` env value replaced by the value of the
  secret's `source` (a name in shared/secrets.py, read from the environment or
  inventories/secrets.env), for a Marathon without a secrets plugin and for the
  local runtime. `secrets` references stay as they are for a Marathon that has one.

`prepare` applies a run's changes together, as both Marathon submission and the Swarm
stack do.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from marathon.schema import AppDefinitionError, app_label, validate

APPS_DIR = Path(__file__).resolve().parent
ROOT = APPS_DIR.parents[1]

# Every service, in the order they are rolled out: consumers before the producer,
# so that nothing produced waits long for its reader.
SERVICES = ("storage-writer", "stream-processor", "redis-publisher", "live-lane", "dashboard", "producer")

PROJECT_IMAGE = re.compile(r"^(bigdata/[a-z0-9][-a-z0-9]*):[^:/]+$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class App:
    name: str          # the service: producer, storage-writer, ...
    source: str        # the file it was read from, relative to the checkout
    definition: dict   # the Marathon app definition

    @property
    def id(self) -> str:
        return self.definition["id"]

    @property
    def label(self) -> str:
        return app_label(self.definition, self.source)

    def replace(self, definition: dict) -> "App":
        return App(self.name, self.source, definition)


def path_of(name: str) -> Path:
    return APPS_DIR / f"{name}.json"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def read(path: Path, name: str | None = None, *, check: bool = True) -> App:
    """One definition from a file, checked against Marathon's schema and the platform's profile."""
    source = _relative(path)
    try:
        definition = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise AppDefinitionError(source, [f"not JSON: {error}"]) from None
    except OSError as error:
        raise AppDefinitionError(source, [f"cannot be read: {error.strerror}"]) from None
    if check:
        validate(definition, source)
    return App(name or path.stem, source, definition)


def load(names: Iterable[str] | None = None, *, check: bool = True) -> list[App]:
    """The definitions of the given services (default: all), in rollout order."""
    wanted = list(SERVICES if names is None else names)
    unknown = [n for n in wanted if n not in SERVICES]
    if unknown:
        raise KeyError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    return [read(path_of(name), name, check=check) for name in SERVICES if name in wanted]


def by_name(apps: Iterable[App], name: str) -> App:
    for app in apps:
        if name in (app.name, app.id, app.id.rsplit("/", 1)[-1]):
            return app
    raise KeyError(name)


# --- what a site or a run changes ---------------------------------------------------
def with_image_tag(app: App, tag: str) -> App:
    """The project's images (`bigdata/<name>:...`) at `tag`; other images untouched."""
    if not TAG.match(tag):
        raise ValueError(f"{tag!r} is not a Docker image tag")
    definition = copy.deepcopy(app.definition)
    docker = definition.get("container", {}).get("docker", {})
    match = PROJECT_IMAGE.match(docker.get("image", ""))
    if match:
        docker["image"] = f"{match[1]}:{tag}"
    return app.replace(definition)


def with_image_tags(app: App, tags: dict[str, str]) -> App:
    """The app's image at the tag its repository has in `tags` (repository -> tag, as
    ctl.images.pipeline_images() gives them); an image of another repository is untouched."""
    match = PROJECT_IMAGE.match(app.definition.get("container", {}).get("docker", {}).get("image", ""))
    if not match or match[1] not in tags:
        return app
    return with_image_tag(app, tags[match[1]])


def with_env(app: App, env: dict[str, str]) -> App:
    """Site settings in the app's environment. A variable the definition takes from a
    secret is refused: a password on a command line would end up in shell histories."""
    definition = copy.deepcopy(app.definition)
    current = definition.setdefault("env", {})
    for key, value in env.items():
        if isinstance(current.get(key), dict):
            raise AppDefinitionError(app.label, [f"env.{key}: comes from secret {current[key].get('secret')!r}; "
                                                 f"set the secret's source instead of a value"])
        current[key] = str(value)
    return app.replace(definition)


def with_read_only_files(app: App, paths: list[str]) -> App:
    """Host files the app's containers see read-only at the same path (e.g. the platform's CA
    certificate, on every host where TLS is on)."""
    definition = copy.deepcopy(app.definition)
    volumes = definition.setdefault("container", {}).setdefault("volumes", [])
    for path in paths:
        if not any(volume.get("containerPath") == path for volume in volumes):
            volumes.append({"containerPath": path, "hostPath": path, "mode": "RO"})
    return app.replace(definition)


def with_instances(app: App, instances: int) -> App:
    if instances < 0:
        raise AppDefinitionError(app.label, [f"instances: {instances} is negative"])
    definition = copy.deepcopy(app.definition)
    definition["instances"] = instances
    return app.replace(definition)


def secret_sources(app: App) -> dict[str, str]:
    """env variable -> the source of the secret it takes its value from."""
    declared = app.definition.get("secrets") or {}
    return {key: declared[value["secret"]]["source"]
            for key, value in (app.definition.get("env") or {}).items()
            if isinstance(value, dict) and value.get("secret") in declared}


def inline_secrets(app: App, lookup: Callable[[str], str | None]) -> App:
    """Each secret reference replaced by its value (`lookup(source)`); fails naming
    the app and every secret it cannot find."""
    definition = copy.deepcopy(app.definition)
    missing = []
    for key, source in secret_sources(app).items():
        value = lookup(source)
        if not value:
            missing.append(f"env.{key}: secret source {source} has no value (set {source} in the environment "
                           f"or in inventories/secrets.env)")
        definition["env"][key] = value
    if missing:
        raise AppDefinitionError(app.label, missing)
    definition.pop("secrets", None)
    return app.replace(definition)


# --- a run's changes together ---------------------------------------------------------
def _taken_for(app: App, by_app: dict) -> list:
    """The values `by_app` gives this app (by name or id), removed from it: what is left
    names no app of the run."""
    return [by_app.pop(name) for name in list(by_app) if name in (app.name, app.id)]


def prepare(apps: list[App], *, image_tags: dict[str, str] | None = None, env: dict[str, str] | None = None,
            scale: dict[str, int] | None = None, app_env: dict[str, dict[str, str]] | None = None,
            lookup_secret: Callable[[str], str | None] | None = None,
            read_only_files: list[str] | None = None) -> list[App]:
    """The definitions as a run deploys them: image tags (repository -> tag), site env and
    host files read-only for every app, instances and more env by app name or id, and, given
    `lookup_secret`, secret values inlined. Marathon submission (marathon/submit.py) and the
    Swarm stack (deploys/pipeline) both prepare apps here."""
    scale, app_env = dict(scale or {}), dict(app_env or {})
    prepared = []
    for app in apps:
        if image_tags:
            app = with_image_tags(app, image_tags)
        if env:
            app = with_env(app, env)
        if read_only_files:
            app = with_read_only_files(app, read_only_files)
        for instances in _taken_for(app, scale):
            app = with_instances(app, instances)
        for more_env in _taken_for(app, app_env):
            app = with_env(app, more_env)
        if lookup_secret:
            app = inline_secrets(app, lookup_secret)
        prepared.append(app)
    for what, left in (("scale", scale), ("env", app_env)):
        if left:
            raise ValueError(f"{what}: no app {', '.join(left)} in this run (apps: "
                             f"{', '.join(a.name for a in apps)})")
    return prepared
