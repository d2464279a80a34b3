"""The dashboard's browser libraries, from npm at build time, served by the app itself
(never a CDN): `bundle()` runs `npm ci` on services/dashboard/frontend/package-lock.json
in a cache directory keyed by the lockfile's hash, and copies only the files the page
loads into services/dashboard/static/vendor/ (gitignored). The image build calls it
before `docker build`, so the files are in the build context.

The registry is npm's configured one, or BIGDATA_NPM_REGISTRY.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ctl import CACHE, ROOT
from ctl.console import run, step
from ctl.prereqs import apt_install

FRONTEND = ROOT / "services" / "dashboard" / "frontend"
VENDOR = ROOT / "services" / "dashboard" / "static" / "vendor"
# what the page loads: node_modules path -> name under static/vendor/
FILES = {
    "socket.io-client/dist/socket.io.min.js": "socket.io.min.js",
    "lightweight-charts/dist/lightweight-charts.standalone.production.js": "lightweight-charts.js",
}
STAMP = ".lockfile-sha256"  # in VENDOR: which lockfile the files came from


def lock_digest() -> str:
    return hashlib.sha256((FRONTEND / "package-lock.json").read_bytes()).hexdigest()


def up_to_date() -> bool:
    stamp = VENDOR / STAMP
    return (stamp.is_file() and stamp.read_text().strip() == lock_digest()
            and all((VENDOR / name).is_file() for name in FILES.values()))


def bundle() -> Path:
    """services/dashboard/static/vendor/, filled from the lockfile (no-op when up to date)."""
    if up_to_date():
        return VENDOR
    digest = lock_digest()
    work = CACHE / "frontend" / digest[:16]
    with step(f"dashboard front-end libraries from npm ({', '.join(f.split('/')[0] for f in FILES)})"):
        if not all((work / "node_modules" / path).is_file() for path in FILES):
            if not shutil.which("npm"):
                apt_install("nodejs", "npm")
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(FRONTEND / name, work / name)
            registry = os.environ.get("BIGDATA_NPM_REGISTRY")
            run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                *([f"--registry={registry}"] if registry else []), cwd=work, quiet=True)
        VENDOR.mkdir(parents=True, exist_ok=True)
        for path, name in FILES.items():
            shutil.copyfile(work / "node_modules" / path, VENDOR / name)
        (VENDOR / STAMP).write_text(digest + "\n")
    return VENDOR


if __name__ == "__main__":
    print(bundle())
