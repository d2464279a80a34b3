"""./bigdata: the one command line a newcomer needs.

    ./bigdata up         the platform and the pipeline on one local node ("bigdata"); prints the dashboard URL
    ./bigdata status     each component's and pipeline app's state on that node
    ./bigdata logs C     the journal of component or app C (kafka, cassandra, ..., producer, dashboard, ...)
    ./bigdata provision  deploy the platform and the pipeline to the node again (the Vagrantfile runs it)
    ./bigdata down       remove the node and everything `up` made
    ./bigdata test       install what is missing, build images and the mirror, run every test
    ./bigdata images     build the base, host and service images (only what changed)
    ./bigdata mirror     build the offline artifact mirror (Kafka, Cassandra, Spark)
"""
import argparse
import subprocess
import sys
import time

from ctl import ROOT
from ctl.console import say


def prepare(*, mirror: bool = True) -> None:
    """Everything the platform's builds and tests need on this machine, each a no-op when present."""
    from ctl import images, prereqs
    prereqs.ensure_docker()
    prereqs.ensure_build_tools()
    images.host_image()
    if mirror:
        from ctl import mirror as artifact_mirror
        artifact_mirror.build_mirror()


# Fast to slow, so a broken unit fails the run in seconds, not after the clusters.
TEST_ORDER = ["tests/unit", "tests/mirror", "tests/images", "tests/cluster", "tests/services", "tests/e2e"]


def test(pytest_args: list[str]) -> int:
    started = time.monotonic()
    prepare()
    args = pytest_args or [path for path in TEST_ORDER if (ROOT / path).is_dir()]
    say("running the tests: " + " ".join(args))
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)
    say(f"./bigdata test finished in {time.monotonic() - started:.0f}s with exit code {code}")
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./bigdata", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    test_parser = sub.add_parser("test", help="install what is missing and run every test (pytest args may follow)")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    sub.add_parser("up", help="the platform and the pipeline on one local node; prints the dashboard URL")
    sub.add_parser("provision", help="deploy the platform and the pipeline to the local node (or, with "
                                     "BIGDATA_CONNECTOR=vagrant, the Vagrant machine)")
    sub.add_parser("status", help="each component's and pipeline app's state on the local node")
    logs_parser = sub.add_parser("logs", help="the journal of one component or app on the local node")
    logs_parser.add_argument("component")
    sub.add_parser("down", help="remove the local node and everything `up` made")
    sub.add_parser("images", help="build the base, host and service images (only what changed)")
    sub.add_parser("mirror", help="build the offline artifact mirror (only what changed)")
    sub.add_parser("prereqs", help="install what the control machine lacks (Docker engine, build tools)")
    args = parser.parse_args(argv)

    if args.command == "test":
        return test(args.pytest_args)
    if args.command in ("up", "provision", "status", "logs", "down"):
        from ctl import local
        if args.command == "up":
            prepare()
            local.up()
        elif args.command == "provision":
            prepare()
            local.provision()
        elif args.command == "status":
            return local.status()
        elif args.command == "logs":
            return local.logs(args.component)
        else:
            local.down()
        return 0
    if args.command == "images":
        prepare(mirror=False)
        from ctl import images
        images.pipeline_images()
    elif args.command == "mirror":
        from ctl import mirror as artifact_mirror
        from ctl import prereqs
        prereqs.ensure_build_tools()
        say(f"mirror ready at {artifact_mirror.build_mirror()}")
    elif args.command == "prereqs":
        from ctl import prereqs
        prereqs.ensure_docker()
        prereqs.ensure_build_tools()
    return 0
