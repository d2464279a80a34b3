"""The Marathon path: the prepared definitions submitted once, from the control machine
(marathon/submitter.py compares, deploys and follows each app)."""
from pyinfra.operations import python

from deploys.marathon import Settings as MarathonSettings, api_url
from deploys.pipeline.prepare import prepare, setting
from deploys.pipeline.settings import Settings
from deploys.tls import Settings as TlsSettings
from deploys.topology import members
from marathon.apps import App


def _submit(apps: list[App], url: str, user: str, password: str, ca: str | None) -> None:
    from marathon.client import Marathon
    from marathon.submitter import Submitter
    Submitter(Marathon(url, user=user, password=password, ca=ca)).submit(apps)


def submit_to_marathon(settings: Settings) -> None:
    marathons = members("marathon")
    first = marathons[0]
    plugin = "secrets" in (first.data.get("marathon_enable_features") or ())
    apps = prepare(settings, inline_secrets=not plugin)
    tls = TlsSettings.from_host(first)  # HTTPS with tls_enabled, its certificate checked against the CA
    url = ",".join(api_url(m, tls.tls_enabled) for m in marathons)
    python.call(name="Submit the apps to Marathon", function=_submit, apps=apps, url=url,
                user=setting(first, MarathonSettings, "marathon_http_user"),
                password=first.data.get("marathon_http_password"), ca=tls.tls_enabled and tls.tls_ca_cert or None)
