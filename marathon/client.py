"""The few calls of Marathon's REST API v2 that submission needs, over `requests`.

Why not the `marathon` PyPI client (0.13.0, its last release, August 2020; its
repository is archived): on Python 3.10+ it fails as soon as an app has a nested
object (a container, a health check, an upgrade strategy — every app here):
`marathon/util.py` encodes with `collections.Iterable`, which Python 3.10 removed
(AttributeError). And it imports itself as the top-level package `marathon`
(`import marathon`, `from marathon.util import ...`), the name of this project's
`marathon/` package, so `python -m marathon.submit` could not import it at all.
This module keeps that client's shape (create_app, update_app, scale_app,
list_deployments, basic auth, several servers tried in turn) and its transport
(`requests`), and sends the definitions as they are, without a model in between
that would drop fields it does not know.

Endpoints, as `apps.raml` and `deployments.raml` describe them:

    GET    /v2/info                      the server (and whether credentials work)
    GET    /v2/apps/{id}                 an app as Marathon has it (404: absent)
    POST   /v2/apps                      create (201)
    PUT    /v2/apps/{id}?partialUpdate=false   replace the definition (200/201 + deploymentId)
    PUT    /v2/apps/{id}                 {"instances": n}: scale (partial update)
    GET    /v2/deployments               deployments in progress
    DELETE /v2/deployments/{id}          roll a deployment back
"""
from __future__ import annotations

from dataclasses import dataclass, field

import requests


class MarathonError(RuntimeError):
    """Marathon could not be asked, or refused."""


class MarathonUnreachable(MarathonError):
    pass


@dataclass
class MarathonHttpError(MarathonError):
    status: int
    method: str
    path: str
    message: str
    details: list = field(default_factory=list)

    def __post_init__(self):
        super().__init__(str(self))

    def __str__(self) -> str:
        detail = "; ".join(f"{d.get('path', '?')}: {', '.join(map(str, d.get('errors', [])))}"
                           for d in self.details if isinstance(d, dict))
        return f"HTTP {self.status} on {self.method} {self.path}: {self.message}" + (f" ({detail})" if detail else "")


class Marathon:
    """A Marathon (several URLs: the members of an HA set, tried in order)."""

    def __init__(self, urls: str | list[str], *, user: str | None = None, password: str | None = None,
                 ca: str | None = None, timeout: float = 10.0, session: requests.Session | None = None):
        self.urls = [u.rstrip("/") for u in (urls.split(",") if isinstance(urls, str) else urls) if u.strip()]
        if not self.urls:
            raise ValueError("no Marathon URL given")
        self.timeout = timeout
        self.session = session or requests.Session()
        if user and password:
            self.session.auth = (user, password)
        if ca:  # HTTPS: its certificate checked against this CA (and the name it is reached at)
            self.session.verify = ca
        self.session.headers.update({"Accept": "application/json"})

    # --- transport -------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, body=None):
        failures = []
        for url in self.urls:
            try:
                response = self.session.request(method, url + path, params=params, json=body, timeout=self.timeout)
            except requests.RequestException as error:
                failures.append(f"{url}: {type(error).__name__}: {error}")
                continue
            if response.status_code >= 400:
                message, details = _error_body(response)
                raise MarathonHttpError(response.status_code, method, path, message, details)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise MarathonError(f"{method} {path}: {url} answered {response.status_code} with something "
                                    f"that is not JSON: {response.text[:200]!r}") from None
        raise MarathonUnreachable(f"no Marathon answered {method} {path}: " + "; ".join(failures))

    # --- the API ---------------------------------------------------------------------
    def info(self) -> dict:
        return self.request("GET", "/v2/info")

    def get_app(self, app_id: str) -> dict | None:
        """The app as Marathon has it, or None when it has none with this id."""
        try:
            body = self.request("GET", f"/v2/apps{_path_id(app_id)}")
        except MarathonHttpError as error:
            if error.status == 404:
                return None
            raise
        if isinstance(body, dict) and isinstance(body.get("app"), dict):
            return body["app"]  # what Marathon answers
        # apps.raml's published example for this endpoint is an app list (examples/app_list.json)
        for app in (body or {}).get("apps", []) if isinstance(body, dict) else []:
            if _path_id(app.get("id", "")) == _path_id(app_id):
                return app
        return None

    def create_app(self, definition: dict) -> dict:
        return self.request("POST", "/v2/apps", body=definition) or {}

    def update_app(self, app_id: str, definition: dict) -> dict:
        """Replace the definition (partialUpdate=false: fields left out go back to
        Marathon's defaults instead of keeping an old value)."""
        return self.request("PUT", f"/v2/apps{_path_id(app_id)}", params={"partialUpdate": "false"},
                            body=definition) or {}

    def scale_app(self, app_id: str, instances: int) -> dict:
        return self.request("PUT", f"/v2/apps{_path_id(app_id)}", body={"instances": instances}) or {}

    def list_deployments(self) -> list[dict]:
        return self.request("GET", "/v2/deployments") or []

    def rollback(self, deployment_id: str) -> dict:
        """Cancel a deployment and roll back to the version before it (Marathon starts
        a new deployment for that; `force` would only cancel, leaving a mix)."""
        return self.request("DELETE", f"/v2/deployments/{deployment_id}") or {}


def _path_id(app_id: str) -> str:
    return "/" + app_id.strip("/")


def _error_body(response: requests.Response) -> tuple[str, list]:
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip()[:300] or response.reason or "no message"), []
    if isinstance(body, dict):
        return str(body.get("message") or body), body.get("details") or []
    return str(body), []
