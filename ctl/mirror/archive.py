"""The mirror's archive tree: where each distribution's tarball and .sha512 live,
whether a tarball is current (its recipe's stamp, its SHA-512), and writing one
reproducibly (same files, same bytes)."""
from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path

from ctl import CACHE
from ctl.console import fail, say, step
from deploys import versions
from deploys.versions import artifact

MIRROR = CACHE / "mirror"          # the archive-like tree: what deploys read
WORK = CACHE / "mirror-build"      # downloads and staging
# Fixed timestamp for every tarball entry, so a rebuild gives identical bytes.
TAR_MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))  # 1980-01-01


def artifact_path(name: str) -> Path:
    """Where the mirror keeps a distribution's tarball (it may not exist yet)."""
    return MIRROR / artifact(name).relpath


def checksum_path(name: str) -> Path:
    return MIRROR / artifact(name).checksum_relpath


def stamp_path(name: str) -> Path:
    """The recipe key the tarball was built from."""
    target = artifact_path(name)
    return target.with_name(f".{target.name}.recipe")


def is_current(name: str, key: str) -> bool:
    """The tarball exists, was built from the recipe `key` and matches its .sha512."""
    target, checksum, stamp = artifact_path(name), checksum_path(name), stamp_path(name)
    if not (target.is_file() and checksum.is_file() and stamp.is_file()):
        return False
    if stamp.read_text().strip() != key:
        say(f"mirror: the recipe of {target.name} changed")
        return False
    try:
        expected = versions.sha512_from_checksum_file(checksum.read_text())
    except ValueError:
        return False
    if sha512(target) != expected:
        say(f"mirror: {target.name} does not match its .sha512")
        return False
    return True


def publish(name: str, top: Path, key: str) -> Path:
    """Pack the staged `top` directory as the distribution's tarball, then its .sha512 and
    recipe stamp: a build interrupted before the stamp is written is rebuilt next time."""
    target = artifact_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (checksum_path(name), stamp_path(name)):
        stale.unlink(missing_ok=True)
    with step(f"packing {target.name}"):
        _pack(top, target)
    _write_atomic(checksum_path(name), f"{sha512(target)}  {target.name}\n")
    _write_atomic(stamp_path(name), key + "\n")
    return target


def sha512(path: Path) -> str:
    h = hashlib.sha512()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.replace(path)


def _pack(top: Path, target: Path) -> None:
    """A reproducible .tgz of `top` (sorted entries, fixed owner and mtime)."""
    part = target.with_name(target.name + ".part")

    def entry(path: Path) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.relative_to(top.parent).as_posix())
        info.mtime = TAR_MTIME
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if path.is_dir():
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
        return info

    with part.open("wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            here = Path(dirpath)
            tar.addfile(entry(here))
            for filename in sorted(filenames):
                path = here / filename
                if path.is_symlink() or not path.is_file():
                    fail(f"unexpected non-regular file in a distribution: {path}")
                with path.open("rb") as f:
                    tar.addfile(entry(path), f)
    part.replace(target)
