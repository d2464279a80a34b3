"""Submit the platform's app definitions to Marathon.

    python -m marathon.submit --url http://m1:8080,http://m2:8080 [--scale storage-writer=3]
        [--image-tag TAG] [--image bigdata/spark-job=TAG ...] [--env BIGDATA_KAFKA_BOOTSTRAP=k1:9092,k2:9092 ...] [--secrets inline|plugin]
        [--only producer ...] [--plan]

For each app, in rollout order (marathon/apps: consumers first, the producer last):

- absent from Marathon: created;
- present: compared with what Marathon reports, on the fields the definition sets
  (Marathon adds defaults and status fields of its own; a port we leave at 0 is
  one Marathon assigns). Different: the definition replaces Marathon's
  (partialUpdate=false, so a field removed from the file is removed there too);
  only the instance count differs: scaled; else left alone;
- every change is a Marathon deployment: it is followed on /v2/deployments until it
  finishes, and reported. One that does not finish in `--timeout` seconds (e.g. a
  health check that never passes) is rolled back (Marathon redeploys the previous
  version) and the run fails naming the app.

A deployment Marathon refuses (HTTP 409: the app is locked by another deployment;
422/400: the definition is invalid) changes nothing: the version that runs keeps
running, the run stops there and the error names the app and Marathon's reasons.

Credentials: HTTP basic auth as `--user` (default: the Marathon deploy's
`marathon_http_user`) with the password in BIGDATA_MARATHON_PASSWORD (the
environment or inventories/secrets.env), the same secret the deploy configures
Marathon with.

Secrets: `--secrets inline` (the default) puts each secret's value into the app's
environment as Marathon stores it (in ZooKeeper, readable through the API by
whoever has the credentials): vanilla Marathon has no secret store.
`--secrets plugin` sends the `secrets` references unchanged, for a Marathon started
with `--enable_features secrets` and a secrets plugin holding each source
(BIGDATA_KAFKA_CLIENT_PASSWORD, ...).

Exit status: 0 done, 1 Marathon refused or a deployment failed, 2 bad definitions
or arguments.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from marathon import DEFAULT_HTTP_USER
from marathon import apps as app_defs
from marathon.apps import App
from marathon.client import Marathon, MarathonError, MarathonHttpError
from marathon.schema import AppDefinitionError
from marathon.wait import attempts

# Ports a definition leaves at 0 for Marathon to assign: any reported value matches 0.
ASSIGNED_WHEN_ZERO = {"port", "servicePort", "hostPort", "containerPort"}
# Collections the platform owns: one the definition leaves out must be empty in Marathon.
OWNED_COLLECTIONS = ("constraints", "env", "secrets", "labels", "healthChecks", "portDefinitions", "fetch",
                     "dependencies", "readinessChecks", "acceptedResourceRoles", "args")
NOT_COMPARED = {"id", "instances"}  # the id is the key; instances are scaled, not updated


class SubmissionError(RuntimeError):
    """A submission that did not happen as asked; the message starts with the app."""

    def __init__(self, app: str, message: str):
        self.app = app
        super().__init__(f"{app}: {message}")


@dataclass
class Deployment:
    id: str
    seconds: float
    steps: int | None = None
    actions: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        steps = f", {self.steps} step(s)" if self.steps else ""
        actions = f": {', '.join(self.actions)}" if self.actions else ""
        return f"deployment {self.id} finished in {self.seconds:.1f}s{steps}{actions}"


@dataclass
class Result:
    app: str                 # the app's id
    action: str              # created, updated, scaled, unchanged (+ " (planned)" with --plan)
    changed: list[str] = field(default_factory=list)   # updated: the fields that differ
    instances: tuple[int, int] | None = None            # scaled: (before, after)
    deployments: list[Deployment] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.app}: {self.action}"
        if self.changed:
            text += f" ({', '.join(self.changed)})"
        if self.instances:
            text += f" (instances {self.instances[0]} -> {self.instances[1]})"
        for deployment in self.deployments:
            text += f"; {deployment}"
        return text


# --- comparison ----------------------------------------------------------------------
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


# --- deployments ---------------------------------------------------------------------
class Submitter:
    def __init__(self, api: Marathon, *, timeout: float = 600, poll_interval: float = 2.0, rollback: bool = True,
                 say: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.api = api
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.rollback_on_timeout = rollback
        self.say = say
        self.clock = clock
        self.sleep = sleep

    def submit(self, apps: list[App], *, plan: bool = False) -> list[Result]:
        results = []
        for app in apps:
            result = self.submit_one(app, plan=plan)
            self.say(str(result))
            results.append(result)
        return results

    def submit_one(self, app: App, *, plan: bool = False) -> Result:
        desired = app.definition
        try:
            reported = self.api.get_app(app.id)
            if reported is None:
                result = Result(app.id, "created")
                if not plan:
                    answer = self.api.create_app(desired)
                    result.deployments = self._follow(app, [d["id"] for d in answer.get("deployments", [])])
            elif changed := differences(desired, reported):
                result = Result(app.id, "updated", changed=changed)
                if not plan:
                    answer = self.api.update_app(app.id, desired)
                    result.deployments = self._follow(app, [answer["deploymentId"]] if answer.get("deploymentId")
                                                      else [])
            elif (wanted := desired.get("instances", 1)) != (running := reported.get("instances", 1)):
                result = Result(app.id, "scaled", instances=(running, wanted))
                if not plan:
                    answer = self.api.scale_app(app.id, wanted)
                    result.deployments = self._follow(app, [answer["deploymentId"]] if answer.get("deploymentId")
                                                      else [])
            else:
                result = Result(app.id, "unchanged")
            if not plan and result.action != "unchanged":
                self._verify(app)
        except MarathonHttpError as error:
            raise SubmissionError(app.label, _refusal(error)) from None
        except MarathonError as error:
            raise SubmissionError(app.label, str(error)) from None
        if plan:
            result.action += " (planned)"
        return result

    def _verify(self, app: App) -> None:
        """After its deployments: Marathon has the definition (not, say, a rollback someone made)."""
        reported = self.api.get_app(app.id)
        if reported is None:
            raise SubmissionError(app.label, "deployed, but Marathon no longer has the app")
        left = differences(app.definition, reported)
        if reported.get("instances", 1) != app.definition.get("instances", 1):
            left.append("instances")
        if left:
            raise SubmissionError(app.label, f"the deployment ended, but Marathon's app still differs in "
                                             f"{', '.join(left)} (rolled back or changed meanwhile?)")

    def _follow(self, app: App, deployment_ids: list[str]) -> list[Deployment]:
        """Wait until the app's deployments are gone from /v2/deployments (= finished)."""
        started = self.clock()
        if not deployment_ids:  # Marathon's answer did not name it: find it in the list
            deployment_ids = [d["id"] for d in self.api.list_deployments() if _affects(d, app.id)]
        last_seen: dict[str, dict] = {}
        for _ in attempts(self.timeout, self.poll_interval, clock=self.clock, sleep=self.sleep):
            running = {d["id"]: d for d in self.api.list_deployments() if d.get("id") in deployment_ids}
            last_seen.update(running)
            if not running:
                return [Deployment(i, self.clock() - started, *(_steps(last_seen.get(i)))) for i in deployment_ids]
        raise SubmissionError(app.label, self._timed_out(running))

    def _timed_out(self, running: dict[str, dict]) -> str:
        where = "; ".join(f"deployment {i} at step {d.get('currentStep', '?')}/{d.get('totalSteps', '?')}"
                          f"{' (' + ', '.join(_steps(d)[1]) + ')' if _steps(d)[1] else ''}"
                          for i, d in running.items())
        message = (f"not deployed within {self.timeout:g}s ({where}); "
                   f"a health check that never passes is the usual cause")
        if not self.rollback_on_timeout:
            return message + "; left as it is (--no-rollback)"
        rolled = []
        for deployment_id in running:
            try:
                answer = self.api.rollback(deployment_id)
                rolled.append(f"{deployment_id} rolled back (deployment {answer.get('deploymentId', '?')} "
                              f"restores the previous version)")
            except MarathonError as error:
                rolled.append(f"{deployment_id} could not be rolled back: {error}")
        return message + "; " + "; ".join(rolled)


def _affects(deployment: dict, app_id: str) -> bool:
    return "/" + app_id.strip("/") in ["/" + a.strip("/") for a in deployment.get("affectedApps", [])]


def _steps(deployment: dict | None) -> tuple[int | None, list[str]]:
    if not deployment:
        return None, []
    actions = [f"{a.get('action')} {a.get('app') or a.get('pod') or ''}".strip()
               for a in deployment.get("currentActions", [])]
    return deployment.get("totalSteps"), actions


def _refusal(error: MarathonHttpError) -> str:
    why = {409: "Marathon refused the deployment (conflict: another deployment holds the app)",
           422: "Marathon refused the definition (invalid)",
           400: "Marathon refused the definition (malformed)",
           401: "Marathon refused the credentials (set BIGDATA_MARATHON_PASSWORD and --user)",
           403: "Marathon refused the credentials (not allowed)"}.get(error.status, "Marathon refused")
    unchanged = "; nothing was changed: the running version stays in place" if error.method in ("POST", "PUT") else ""
    return f"{why}: {error}{unchanged}"


# --- command line --------------------------------------------------------------------
def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {value!r}: expected NAME=VALUE")
        pairs[key.strip()] = item.strip()
    return pairs


def _taken_for(app: App, by_app: dict) -> list:
    """The values `by_app` gives this app (by name or id), removed from it: what is left
    names no app of the run."""
    return [by_app.pop(name) for name in list(by_app) if name in (app.name, app.id)]


def prepare_apps(apps: list[App], *, image_tags: dict[str, str] | None = None, env: dict[str, str] | None = None,
                 scale: dict[str, int] | None = None, app_env: dict[str, dict[str, str]] | None = None,
                 lookup_secret: Callable[[str], str | None] | None = None) -> list[App]:
    """The definitions as a run deploys them: image tags (repository -> tag), site env
    for every app, instances and more env by app name or id, and, given `lookup_secret`, secret
    values inlined. Marathon submission and the Swarm stack (deploys/pipeline)
    both prepare apps here."""
    scale, app_env = dict(scale or {}), dict(app_env or {})
    prepared = []
    for app in apps:
        if image_tags:
            app = app_defs.with_image_tags(app, image_tags)
        if env:
            app = app_defs.with_env(app, env)
        for instances in _taken_for(app, scale):
            app = app_defs.with_instances(app, instances)
        for more_env in _taken_for(app, app_env):
            app = app_defs.with_env(app, more_env)
        if lookup_secret:
            app = app_defs.inline_secrets(app, lookup_secret)
        prepared.append(app)
    for what, left in (("scale", scale), ("env", app_env)):
        if left:
            raise ValueError(f"{what}: no app {', '.join(left)} in this run (apps: "
                             f"{', '.join(a.name for a in apps)})")
    return prepared


def prepare(args, lookup_secret: Callable[[str], str | None]) -> list[App]:
    """The definitions as this run submits them (tag, site env, scale, secrets)."""
    apps = app_defs.load(args.only or None)
    scale = _pairs(args.scale, "--scale")
    for name, value in scale.items():
        if not value.isdigit():
            raise ValueError(f"--scale {name}={value}: instances must be a whole number")
    image_tags = _pairs(args.image, "--image")
    if args.image_tag:  # one tag for every project image the definitions name
        image_tags = {app_defs.PROJECT_IMAGE.match(a.definition["container"]["docker"]["image"])[1]: args.image_tag
                      for a in apps} | image_tags
    return prepare_apps(apps, image_tags=image_tags, env=_pairs(args.env, "--env"),
                        scale={name: int(value) for name, value in scale.items()},
                        lookup_secret=lookup_secret if args.secrets == "inline" else None)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m marathon.submit", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    p.add_argument("--url", required=True, help="Marathon URL(s), comma-separated (the HA members)")
    p.add_argument("--user", default=DEFAULT_HTTP_USER,
                   help="HTTP basic auth user (password: BIGDATA_MARATHON_PASSWORD)")
    p.add_argument("--scale", action="append", default=[], metavar="APP=N", help="instances of an app for this run")
    p.add_argument("--image-tag", help="tag of the project's images (bigdata/<name>:TAG)")
    p.add_argument("--image", action="append", default=[], metavar="REPOSITORY=TAG",
                   help="tag of one repository's image (e.g. bigdata/spark-job=3f2a9c1e); over --image-tag")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="a site setting for every app (e.g. BIGDATA_KAFKA_BOOTSTRAP=k1:9092,k2:9092)")
    p.add_argument("--secrets", choices=("inline", "plugin"), default="inline",
                   help="inline: secret values in the apps' env (default); plugin: references for a secrets plugin")
    p.add_argument("--only", action="append", default=[], metavar="APP", choices=app_defs.SERVICES,
                   help="submit only this app (repeatable)")
    p.add_argument("--timeout", type=float, default=600, help="seconds a deployment may take (default 600)")
    p.add_argument("--poll-interval", type=float, default=2.0, help="seconds between looks at /v2/deployments")
    p.add_argument("--no-rollback", action="store_true", help="leave a deployment that timed out as it is")
    p.add_argument("--plan", action="store_true", help="only say what would change")
    return p


def main(argv: list[str] | None = None) -> int:
    from shared.secrets import secret
    args = parser().parse_args(argv)
    try:
        apps = prepare(args, secret)
    except (AppDefinitionError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    api = Marathon(args.url, user=args.user, password=secret("BIGDATA_MARATHON_PASSWORD"))
    submitter = Submitter(api, timeout=args.timeout, poll_interval=args.poll_interval,
                          rollback=not args.no_rollback)
    try:
        submitter.submit(apps, plan=args.plan)
    except SubmissionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
