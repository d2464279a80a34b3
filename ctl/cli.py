"""./bigdata: the command line a newcomer needs."""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./bigdata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prereqs", help="install what the control machine lacks (Docker engine, build tools)")
    args = parser.parse_args(argv)
    if args.command == "prereqs":
        from ctl import prereqs
        prereqs.ensure_docker()
        prereqs.ensure_build_tools()
    return 0
