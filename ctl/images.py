"""The images everything starts from, built here with no registry.

Each image is tagged with a digest of its recipe, so it is rebuilt only when the
recipe (or the image it builds on) changes.
"""
import hashlib
import os
import re
import subprocess
from pathlib import Path

from ctl import ROOT
from ctl.console import run, say, step

SUITE = "bookworm"
BASE_REPO = "bigdata/base"
HOST_REPO = "bigdata/host"


def _digest(*parts) -> str:
    sha = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for file in files:
                sha.update(str(file.relative_to(ROOT)).encode())
                sha.update(file.read_bytes())
        else:
            sha.update(str(part).encode())
    return sha.hexdigest()[:12]


def _exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def debian_mirrors() -> tuple[str, str]:
    """The Debian mirror (and security mirror) apt already uses here, unless
    BIGDATA_DEBIAN_MIRROR / BIGDATA_DEBIAN_SECURITY_MIRROR say otherwise."""
    text = ""
    for source in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if source.is_file():
            text += source.read_text()
    uris = re.findall(r"(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M)
    debian = [u.rstrip("/") for u in uris if u.rstrip("/").endswith(("/debian", "/debian-security"))]
    main = next((u for u in debian if not u.endswith("-security")), "http://deb.debian.org/debian")
    security = next((u for u in debian if u.endswith("-security")), "http://deb.debian.org/debian-security")
    return (os.environ.get("BIGDATA_DEBIAN_MIRROR", main),
            os.environ.get("BIGDATA_DEBIAN_SECURITY_MIRROR", security))


def base_image() -> str:
    recipe = ROOT / "images/base/build.sh"
    mirrors = debian_mirrors()
    tag = f"{BASE_REPO}:{_digest(recipe, SUITE, *mirrors)}"
    if not _exists(tag):
        from ctl.prereqs import apt_install
        apt_install("debootstrap")
        with step(f"building the Debian {SUITE} base image {tag} (debootstrap from {mirrors[0]})"):
            run(recipe, tag, SUITE, *mirrors)
    run("docker", "tag", tag, f"{BASE_REPO}:latest")
    return tag


def host_image() -> str:
    base = base_image()
    context = ROOT / "images/host"
    tag = f"{HOST_REPO}:{_digest(context, base)}"
    if not _exists(tag):
        with step(f"building the systemd host image {tag}"):
            run("docker", "build", "--quiet", "--build-arg", f"BASE={base}", "-t", tag, context, quiet=True)
    run("docker", "tag", tag, f"{HOST_REPO}:latest")
    say(f"host image: {tag}")
    return tag
