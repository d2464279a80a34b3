"""`python -m ctl.mirror [NAME ...] [--force]`: build the mirror, list its tarballs."""
import argparse

from ctl import mirror


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctl.mirror", description=mirror.__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(mirror.NAMES)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in mirror.NAMES:
            parser.error(f"unknown distribution {name!r}: choose from {', '.join(mirror.NAMES)}")
    root = mirror.build_mirror(args.names or mirror.NAMES, force=args.force)
    for name in args.names or mirror.NAMES:
        path = mirror.artifact_path(name)
        print(f"{path.relative_to(root)}  {path.stat().st_size / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
