"""./bigdata: the one command line a newcomer needs.

    ./bigdata up           the platform and the pipeline on one local node ("bigdata"); prints the dashboard URL
    ./bigdata status       what each component and pipeline app of that node really answers
    ./bigdata logs [-f] C  the journal of component or app C (kafka, cassandra, ..., producer, dashboard, ...)
    ./bigdata scale A=N    run N replicas of app A (e.g. storage-writer=3) on the node's swarm; `up` keeps it
    ./bigdata provision    deploy the platform and the pipeline to the node again (the Vagrantfile runs it)
    ./bigdata backup       a backup of the pipeline's keyspace (Cassandra snapshots and schema)
    ./bigdata restore NAME load a backup's rows into the node
    ./bigdata down         remove the node and everything `up` made
    ./bigdata test         install what is missing, build images and the mirror, run every test
    ./bigdata images       build the base, host and service images (only what changed)
    ./bigdata mirror       build the offline artifact mirror (Kafka, Cassandra, Spark)

The command line is parsed (and --help answered) by the system's python3 before any
environment is made: this module imports nothing outside the standard library at its top.
"""
import argparse
import os
import sys
from typing import Callable

from ctl.console import EXIT_CODES_HELP, Exit, Refusal, say

# Set by ./bigdata for its first, environment-less pass: parse and answer --help (exit 0) or
# refuse the command line (exit 2); a command line to run exits ARGS_OK, and ./bigdata goes on.
ARGS_ONLY_ENV = "BIGDATA_ARGS_ONLY"
ARGS_OK = 100


def prepare(*, mirror: bool = True) -> None:
    """Everything the platform's builds and tests need on this machine, each a no-op when present."""
    from ctl import images, prereqs
    prereqs.ensure_docker()
    prereqs.ensure_build_tools()
    images.host_image()
    if mirror:
        from ctl import mirror as artifact_mirror
        artifact_mirror.build_mirror()


def test(pytest_args: list[str]) -> int:
    from ctl import testrun
    prepare()
    return testrun.run(pytest_args)


# What each command runs (args -> exit code, None for Exit.OK). Imports are made here, not
# at the top: they need the environment ./bigdata makes after parsing.

def _up(args: argparse.Namespace) -> int:
    from ctl import local
    return local.up(prepare)


def _provision(args: argparse.Namespace) -> None:
    from ctl import local
    prepare()
    local.provision()


def _status(args: argparse.Namespace) -> int:
    from ctl import local
    return local.status()


def _logs(args: argparse.Namespace) -> int:
    from ctl import local
    return local.logs(args.component, follow=args.follow, lines=args.lines)


def _scale(args: argparse.Namespace) -> int:
    from ctl import local
    return local.scale(args.apps)


def _backup(args: argparse.Namespace) -> int:
    from ctl import local
    return local.backup()


def _restore(args: argparse.Namespace) -> int:
    from ctl import local
    return local.restore(args.name)


def _down(args: argparse.Namespace) -> None:
    from ctl import local
    local.down()


def _images(args: argparse.Namespace) -> None:
    from ctl import images
    prepare(mirror=False)
    images.pipeline_images()


def _mirror(args: argparse.Namespace) -> None:
    from ctl import mirror, prereqs
    prereqs.ensure_build_tools()
    say(f"mirror ready at {mirror.build_mirror()}")


def _prereqs(args: argparse.Namespace) -> None:
    from ctl import prereqs
    prereqs.ensure_docker()
    prereqs.ensure_build_tools()


def parser() -> argparse.ArgumentParser:
    """Each command once: its help, its arguments and what runs it (`func`: args -> exit code,
    None for Exit.OK)."""
    top = argparse.ArgumentParser(prog="./bigdata", description=__doc__.split("\n\nThe command line")[0],
                                  epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, func: Callable[[argparse.Namespace], int | None]) -> argparse.ArgumentParser:
        declared = sub.add_parser(name, help=text, description=text, epilog=EXIT_CODES_HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        declared.set_defaults(func=func)
        return declared

    command("up", "the platform and the pipeline on one local node; prints the dashboard URL", _up)
    command("provision", "deploy the platform and the pipeline to the local node (or, with "
                         "BIGDATA_CONNECTOR=vagrant, the Vagrant machine)", _provision)
    command("status", "what each component and app of the local node really answers; exit 1 naming "
                      "whatever is not healthy", _status)
    logs = command("logs", "the journal of one component or app on the local node", _logs)
    logs.add_argument("component", help="a component (zookeeper, kafka, cassandra, redis, spark-master, "
                                        "spark-worker) or an app (producer, dashboard, ...)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines, as journalctl -f")
    logs.add_argument("-n", "--lines", type=int, default=200, help="how many of the last lines (default 200)")
    scale = command("scale", "run N replicas of a pipeline app on the local node's swarm (kept by the next `up`)",
                    _scale)
    scale.add_argument("apps", nargs="+", metavar="APP=N", help="e.g. storage-writer=3")
    command("backup", "a backup of the pipeline's keyspace on the local node (each node's Cassandra snapshot "
                      "and the schema, in cassandra_backup_dir; the newest cassandra_backup_keep kept)", _backup)
    restore = command("restore", "load a backup's rows into the local node's keyspace", _restore)
    restore.add_argument("name", help="the backup's name, e.g. 20261202T130501Z (`./bigdata backup` prints it)")
    command("down", "remove the local node and everything `up` made", _down)
    tests = command("test", "install what is missing and run every test (pytest arguments may follow)",
                    lambda args: test(args.pytest_args))
    tests.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest, e.g. tests/unit -x")
    command("images", "build the base, host and service images (only what changed)", _images)
    command("mirror", "build the offline artifact mirror (only what changed)", _mirror)
    command("prereqs", "install what the control machine lacks (Docker engine, build tools)", _prereqs)
    return top


def run_command(args: argparse.Namespace) -> int:
    code = args.func(args)
    return Exit.OK if code is None else code


def main(argv=None) -> int:
    args = parser().parse_args(argv)  # exits 2 (Exit.USAGE) on an unknown command, 0 after --help
    if os.environ.get(ARGS_ONLY_ENV):
        return ARGS_OK
    from pyinfra.api.exceptions import InventoryError
    try:
        return int(run_command(args))
    except Refusal as refusal:  # already said, in one line
        return int(refusal.code)
    except InventoryError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return Exit.SETTINGS
    except KeyboardInterrupt:
        print("\nerror: interrupted; what was started is left as it was (`./bigdata status` shows it)",
              file=sys.stderr, flush=True)
        return Exit.INTERRUPTED
