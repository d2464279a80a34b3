#!/usr/bin/python3
"""The service images' HEALTHCHECK: exit 0 when the service in this container
answers GET /health (or the path given as the first argument: a Swarm service's
health check translated from a Marathon HTTP check, marathon/swarm.py) with 200,
else 1. Standard library only (no curl in the image).

The port: BIGDATA_HTTP_PORT, else $PORT0 (Marathon), as the services choose it
(services/core/settings.py). With neither set (or 0), the service listens on its
own default port (or a free one), so the check asks each port that the
container's main process (PID 1) listens on, and remembers (in /tmp) the one that
answered HTTP, to ask it alone next time: the other ports may be a Spark driver's,
which would log every probe as an error.
"""
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3
BODY_BYTES = 3072  # Docker keeps 4 KiB of a check's output
REMEMBERED = "/tmp/bigdata-healthcheck.port"


def listening_ports(pid: int = 1) -> list[int]:
    """TCP ports in LISTEN state whose sockets the process holds open."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return []
    ports = []
    for table in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def healthy(port: int, path: str) -> bool | None:
    """Asks; prints what the service answered (Docker keeps it in the container's health
    log, where `./bigdata status` reads a consumer's lag and a problem). None: not HTTP."""
    bound = os.environ.get("BIGDATA_HTTP_HOST", "")
    host = "127.0.0.1" if bound in ("", "0.0.0.0", "::") else f"[{bound}]" if ":" in bound else bound
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=TIMEOUT_S) as reply:
            print(reply.read(BODY_BYTES).decode(errors="replace"))
            return reply.status == 200
    except urllib.error.HTTPError as error:  # 503: the body says what is wrong
        print(error.read(BODY_BYTES).decode(errors="replace"))
        return False
    except Exception as error:  # refused, timed out, not HTTP at all
        print(f"port {port}: {error}")
        return None


def main() -> int:
    configured = os.environ.get("BIGDATA_HTTP_PORT") or os.environ.get("PORT0")
    # port 0 lets the service pick one
    path = sys.argv[1] if len(sys.argv) > 1 else "/health"
    if configured and configured.isdigit() and int(configured):
        return 0 if healthy(int(configured), path) else 1
    try:
        remembered = int(open(REMEMBERED).read())
    except (OSError, ValueError):
        remembered = None
    for port in ([remembered] if remembered else []) + [p for p in listening_ports() if p != remembered]:
        answer = healthy(port, path)
        if answer is not None:  # the service's port: HTTP, healthy or not
            if port != remembered:
                with open(REMEMBERED, "w") as out:
                    out.write(str(port))
            return 0 if answer else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
