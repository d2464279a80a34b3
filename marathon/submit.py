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
(BIGDATA_KAFKA_WRITER_PASSWORD, ...).

Exit status: 0 done, 1 Marathon refused or a deployment failed, 2 bad definitions
or arguments.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from marathon import DEFAULT_HTTP_USER
from marathon import apps as app_defs
from marathon.apps import App
from marathon.client import Marathon
from marathon.schema import AppDefinitionError
from marathon.submitter import SubmissionError, Submitter


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {value!r}: expected NAME=VALUE")
        pairs[key.strip()] = item.strip()
    return pairs


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
    return app_defs.prepare(apps, image_tags=image_tags, env=_pairs(args.env, "--env"),
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
    p.add_argument("--ca", help="the CA certificate (PEM) to check an https:// Marathon's certificate against")
    return p


def main(argv: list[str] | None = None) -> int:
    from shared.secrets import secret
    args = parser().parse_args(argv)
    try:
        apps = prepare(args, secret)
    except (AppDefinitionError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    api = Marathon(args.url, user=args.user, password=secret("BIGDATA_MARATHON_PASSWORD"), ca=args.ca)
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
