#!/usr/bin/env python3
"""Installed by the bigdata bundle (deploys/spark): is the Spark cluster ready?

    spark_ready.py --token-file FILE MASTER_UI [WORKER_HOST ...] [--self WORKER_UI]

Exits 0 when the master at MASTER_UI (http://host:port) is ALIVE and lists a
worker ALIVE on every WORKER_HOST, and, with --self, lists the worker whose web
UI is WORKER_UI under that worker's current id (not a stale registration).
Otherwise prints what is missing and exits 1. The UIs answer only a request that
carries the token in FILE (deploys/spark/ui.py).
"""
import argparse
import json
import sys
import urllib.request


def get(url: str, token: str) -> dict:
    request = urllib.request.Request(url.rstrip("/") + "/json/", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("master_ui")
    parser.add_argument("hosts", nargs="*")
    parser.add_argument("--self", dest="self_ui")
    parser.add_argument("--token-file", required=True)
    args = parser.parse_args()
    with open(args.token_file) as file:
        token = file.read().strip()
    master = get(args.master_ui, token)
    if master.get("status") != "ALIVE":
        print(f"master status {master.get('status')}")
        return 1
    alive = [w for w in master.get("workers", []) if w.get("state") == "ALIVE"]
    missing = sorted(set(args.hosts) - {w["host"] for w in alive})
    if missing:
        print(f"no ALIVE worker on {', '.join(missing)} (ALIVE: {', '.join(w['id'] for w in alive) or 'none'})")
        return 1
    if args.self_ui:
        own = get(args.self_ui, token)["id"]
        if own not in {w["id"] for w in alive}:
            print(f"the master does not list worker {own} ALIVE")
            return 1
    print(f"{len(alive)} ALIVE worker(s): {', '.join(w['id'] for w in alive)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
