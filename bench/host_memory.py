"""Memory of the one-node "bigdata" host with every platform service running.

    .venv/bin/python bench/host_memory.py [--settle SECONDS]

Starts a host container from the project's host image, provisions it with
inventories/bigdata.py and deploys/site.py (the same path as the tests), lets it
settle, then reads the container's memory cgroup (docker stats reads 0 B here
while several systemd containers run: see shared/PLATFORM.md) and each service's
resident memory. Removes the host afterwards. The target is under 4 GiB.
"""
import argparse
import os
import subprocess
import time

from ctl import hosts, images, prereqs
from ctl.provision import containers_of, run_deploy
from ctl.local import UNITS
from shared import secrets

PREFIX = f"bench{os.getpid()}-"
OWNER = f"rig:{os.getpid()}"  # swept like a test run's hosts if this process dies


def cgroup_memory(container: str) -> dict[str, int]:
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container],
                         capture_output=True, text=True, check=True).stdout.strip()
    stat = {}
    for line in open(f"/sys/fs/cgroup/memory/docker/{cid}/memory.stat"):
        key, value = line.split()
        stat[key] = int(value)
    return stat


def service_rss_mib(container: str, unit: str) -> float:
    pid = subprocess.run(["docker", "exec", container, "systemctl", "show", "-p", "MainPID", "--value", unit],
                         capture_output=True, text=True).stdout.strip()
    if not pid or pid == "0":
        return 0.0
    rss = subprocess.run(["docker", "exec", container, "ps", "-o", "rss=", "-p", pid],
                         capture_output=True, text=True).stdout.strip()
    return int(rss or 0) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=int, default=60, help="seconds to wait after the deploy")
    args = parser.parse_args()
    for name, value in secrets.generate().items():
        os.environ.setdefault(name, value)
    prereqs.ensure_docker()
    image = images.host_image()
    (name,) = containers_of("inventories/bigdata.py", PREFIX)
    try:
        hosts.start([name], image=image, network=f"{PREFIX}net", owner=OWNER)
        result = run_deploy("inventories/bigdata.py", prefix=PREFIX, log_name="bench-host-memory")
        if result.returncode:
            raise SystemExit(f"deploy failed; see {result.log}")
        time.sleep(args.settle)
        stat = cgroup_memory(name)
        print(f"one-node host, all services, {args.settle}s after the deploy:")
        for component, unit in UNITS.items():
            print(f"  {component:<14} {service_rss_mib(name, unit):8.0f} MiB resident")
        rss = (stat["total_rss"] + stat.get("total_mapped_file", 0)) / 2**30
        print(f"  host total     {rss:8.2f} GiB (cgroup rss + mapped files; page cache excluded: "
              f"{stat['total_cache'] / 2**30:.2f} GiB)")
        print(f"  target         {4:8.2f} GiB -> {'met' if rss < 4 else 'NOT met'}")
    finally:
        hosts.remove(OWNER)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
