"""Submission: each app created, updated or scaled as its definition differs from
Marathon's, every deployment followed until it finished (rolled back after the timeout),
refusals reported naming the app. The rules are told in marathon/submit.py's help."""
from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Callable

from marathon.apps import App
from marathon.client import Marathon, MarathonError, MarathonHttpError
from marathon.compare import differences
from marathon.wait import attempts


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


@dataclass
class Submitter:
    """Submits to `api`; a deployment may take `timeout` seconds, looked at every
    `poll_interval`, and is rolled back when it takes longer (unless not `rollback`)."""
    api: Marathon
    _: KW_ONLY
    timeout: float = 600
    poll_interval: float = 2.0
    rollback: bool = True
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

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
        if not self.rollback:
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
