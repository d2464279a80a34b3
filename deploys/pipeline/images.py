"""The apps' images onto each swarm node, with no registry: `docker save` to a cache on
the control machine, upload, `docker load`, and only where the node's copy differs."""
import os
import subprocess
import tempfile
from pathlib import Path

from pyinfra import host
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.server import Command
from pyinfra.operations import files, server

from marathon.apps import App

UPLOADS = "/var/tmp/bigdata-images"


def ship_images(apps: list[App], cache: Path) -> None:
    """Every image the apps run, onto this host."""
    for reference in sorted({app.definition["container"]["docker"]["image"] for app in apps}):
        _ship_image(reference, _local_image_id(reference), cache)


def _local_image_id(reference: str) -> str:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference],
                          capture_output=True, text=True)
    if done.returncode:
        raise DeployError(f"pipeline apps: image {reference} is not on the control machine (./bigdata images)")
    return done.stdout.strip()


def _ship_image(reference: str, image_id: str, cache: Path) -> None:
    """The image onto the host, only when the host's copy differs; tagged by the deploy,
    as `docker save` of an image with several tags may carry another one."""
    inspect = "docker image inspect --format '{{.Id}}' %s 2>/dev/null || true"
    if (host.get_fact(Command, command=inspect % reference) or "").strip() == image_id:
        return
    tag = f"docker tag {image_id} {reference}"
    if (host.get_fact(Command, command=inspect % image_id) or "").strip() == image_id:
        server.shell(name=f"Tag image {reference}", commands=[tag])
        return
    tarball = _saved(reference, image_id, cache)
    upload = f"{UPLOADS}/{tarball.name}"
    files.directory(name="Directory for image uploads", path=UPLOADS, mode="0700")
    files.put(name=f"Upload image {reference}", src=str(tarball), dest=upload, mode="0600")
    server.shell(name=f"Load image {reference}", commands=[f"docker load --input {upload}", tag, f"rm -f {upload}"])


def _saved(reference: str, image_id: str, cache: Path) -> Path:
    """The image's `docker save` tarball in the cache, made when missing. The hosts of one
    run prepare at the same time (pyinfra's greenlets), so each writes a file of its own
    and moves it into place atomically."""
    repository = reference.rsplit(":", 1)[0].replace("/", "_")
    tarball = cache / f"{repository}-{image_id.split(':')[-1][:16]}.tar"
    if tarball.exists():
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    for older in cache.glob(f"{repository}-*.tar"):  # one tarball per repository is enough
        if older != tarball:
            older.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, prefix=f".{tarball.name}.", delete=False) as partial:
        pass
    try:
        subprocess.run(["docker", "save", "--output", partial.name, image_id], check=True)
        os.replace(partial.name, tarball)
    finally:
        Path(partial.name).unlink(missing_ok=True)
    return tarball
