"""The images everything starts from, built here with no registry.

Each image is tagged with a digest of its recipe, so it is rebuilt only when the
recipe (or the image it builds on) changes.

- bigdata/base: Debian bookworm minbase (debootstrap), images/base/build.sh
- bigdata/host: systemd + sshd on base: the test rig's hosts, the Vagrant box
- bigdata/pipeline, bigdata/spark-job: the services' images (images/pipeline/Dockerfile),
  from wheels and the Spark distribution fetched into the mirror beforehand, so
  that `docker build` itself needs no network
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from ctl import CACHE, ROOT, RUN
from ctl.console import Progress, fail, run, say, step, taking_turns

SUITE = "bookworm"
BASE_REPO = "bigdata/base"
HOST_REPO = "bigdata/host"
PIPELINE_REPO = "bigdata/pipeline"
SPARK_JOB_REPO = "bigdata/spark-job"

PIPELINE_RECIPE = ROOT / "images/pipeline"
WHEELS = CACHE / "mirror" / "wheels"  # the services' wheels, for the images' Python
# The images' Python is bookworm's python3.11 (3.11.2) on glibc 2.36: the wheels must suit it.
IMAGE_PYTHON, IMAGE_ABI, IMAGE_GLIBC = "3.11.2", "cp311", (2, 36)
# One builder of the pipeline's images at a time on this machine (the test run's lanes both ask)
PIPELINE_LOCK = CACHE / "pipeline-images.lock"


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


# --- the service images ----------------------------------------------------------------

def services_requirements() -> list[str]:
    """The `services` group of pyproject.toml: what the services import."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"]["services"]


def image_requirements() -> list[str]:
    """name==version of the `services` group and everything it needs on the images' Python,
    each pinned by requirements.lock. pip download evaluates dependency markers for the
    Python running it, not the target's, so the closure is walked here (over the
    installed distributions' metadata: the control environment is the lock)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    lines = (ROOT / "requirements.lock").read_text().split()
    pins = {canonicalize_name(name): version for name, version in (line.split("==") for line in lines)}
    environment = {"python_version": IMAGE_PYTHON.rsplit(".", 1)[0], "python_full_version": IMAGE_PYTHON,
                   "implementation_name": "cpython", "platform_python_implementation": "CPython",
                   "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
                   "os_name": "posix"}
    seen: set[tuple[str, frozenset]] = set()
    todo = [(Requirement(r), "the services group") for r in services_requirements()]
    while todo:
        requirement, needed_by = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        if name not in pins:
            fail(f"requirements.lock pins no {requirement.name}, which {needed_by} needs on Python {IMAGE_PYTHON}")
        if Version(metadata.version(requirement.name)) != Version(pins[name]):
            fail(f"{requirement.name} {metadata.version(requirement.name)} is installed, the lock says "
                 f"{pins[name]}: run ./bigdata (it installs requirements.lock) first")
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            if not dependency.marker or any(dependency.marker.evaluate({**environment, "extra": extra})
                                            for extra in ("", *requirement.extras)):
                todo.append((dependency, requirement.name))
    return sorted(f"{name}=={pins[name]}" for name in {name for name, _ in seen})


def service_wheels() -> list[Path]:
    """The wheels of image_requirements() for the images' Python and platform, fetched
    from PyPI once per (group, lock) into the mirror's wheels/ (a manifest names them)."""
    requirements = image_requirements()
    key = _digest(*requirements, IMAGE_PYTHON, IMAGE_ABI, IMAGE_GLIBC)
    manifest = WHEELS / f".services-{key}.txt"
    if manifest.is_file():
        wheels = [WHEELS / name for name in manifest.read_text().split()]
        if all(wheel.is_file() for wheel in wheels):
            return wheels
    # pip takes the newest manylinux tag first; bookworm's glibc runs every older one
    platforms = [f"--platform=manylinux_{IMAGE_GLIBC[0]}_{minor}_x86_64" for minor in range(IMAGE_GLIBC[1], 4, -1)]
    WHEELS.mkdir(parents=True, exist_ok=True)
    with step(f"PyPI: {len(requirements)} wheels of the services' dependencies for Python {IMAGE_PYTHON}"), \
            tempfile.TemporaryDirectory(dir=WHEELS.parent) as downloads:
        run(sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps",
            "--only-binary=:all:", *platforms, f"--python-version={IMAGE_PYTHON}", "--implementation=cp",
            f"--abi={IMAGE_ABI}", "--dest", downloads, *requirements, quiet=True)
        names = sorted(p.name for p in Path(downloads).glob("*.whl"))
        for name in names:
            os.replace(Path(downloads) / name, WHEELS / name)
    manifest.write_text("\n".join(names) + "\n")
    return [WHEELS / name for name in names]


def _pins(wheels: list[Path]) -> str:
    """requirements.txt of the image: name==version of every wheel (its file name says both)."""
    return "".join(f"{w.name.split('-')[0]}=={w.name.split('-')[1]}\n" for w in wheels)


def _service_files() -> list[Path]:
    """What the images carry of services/ and of the names they share (shared/): the code
    and the dashboard's built static files, not caches or the front-end's npm sources."""
    return sorted(p for top in (ROOT / "services", ROOT / "shared") for p in top.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts and not p.is_relative_to(ROOT / "services/dashboard/frontend"))


def _context(wheels: list[Path], spark_tarball: Path | None) -> Path:
    """The build context: the recipe, the pins, the wheels and the code under app/ (hard links where
    possible), and the Spark tarball when the spark-job image is built."""
    (RUN / "images").mkdir(parents=True, exist_ok=True)
    context = Path(tempfile.mkdtemp(prefix="pipeline-", dir=RUN / "images"))  # one per build: callers may overlap
    shutil.copytree(PIPELINE_RECIPE, context, dirs_exist_ok=True)
    (context / "requirements.txt").write_text(_pins(wheels))
    inputs = {f"wheels/{w.name}": w for w in wheels}
    inputs |= {f"app/{f.relative_to(ROOT)}": f for f in _service_files()}  # one code layer: COPY app
    if spark_tarball:
        inputs["spark/spark.tgz"] = spark_tarball
    for relative, source in inputs.items():
        target = context / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system
            shutil.copy2(source, target)
    return context


def _build(image: str, target: str, context: Path, **build_args: str) -> None:
    """docker build of one target; a failure names the image and shows the end of the
    failing step's output."""
    args = [f"--build-arg={k}={v}" for k, v in build_args.items()]
    with step(f"building the {target} image {image}"):
        progress = Progress()
        output = []
        with subprocess.Popen(["docker", "build", "--force-rm", "--target", target, *args, "-t", image,
                               str(context)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as build:
            for line in build.stdout:
                output.append(line)
                # "Step 3/9 : RUN ..." (the classic builder) or "#7 [pipeline 3/9] RUN ..." (BuildKit)
                found = re.match(r"Step (\d+/\d+) : (.*)", line) or re.match(r"#\d+ \[[\w-]+ (\d+/\d+)\] (.*)", line)
                if found:
                    progress.update(found[2].strip(), found[1], part=target)
                progress.tick()
        progress.close()
        if build.returncode:
            tail = "\n".join("".join(output).strip().splitlines()[-40:])
            fail(f"building the image {image} (target {target} of {PIPELINE_RECIPE.relative_to(ROOT)}/Dockerfile) "
                 f"failed; the end of its output:\n{tail}")


def pipeline_images() -> dict[str, str]:
    """The services' images, built when their inputs changed: {image repository: tag},
    e.g. {"bigdata/pipeline": "c1900fc29dbc", ...} (marathon.apps.with_image_tags takes it).

    bigdata/pipeline runs every service (`python -m services.<name>`); bigdata/spark-job
    adds Java and Spark for the stream processor's driver. Both are also tagged :latest
    (what marathon/apps name)."""
    with taking_turns(PIPELINE_LOCK, "the pipeline's images"):
        return _pipeline_images()


def _pipeline_images() -> dict[str, str]:
    from ctl import frontend
    from ctl import mirror
    from deploys.versions import artifact

    base = base_image()
    frontend.bundle()  # the dashboard's browser libraries, into services/ before hashing it
    wheels = service_wheels()
    mirror.build_mirror(("spark",))
    spark_tarball = mirror.artifact_path("spark")
    pipeline = f"{PIPELINE_REPO}:{_digest(PIPELINE_RECIPE, base, _pins(wheels), *_service_files())}"
    spark_job = f"{SPARK_JOB_REPO}:{_digest(PIPELINE_RECIPE, pipeline, mirror.checksum_path('spark').read_text())}"
    missing = [image for image in (pipeline, spark_job) if not _exists(image)]
    if missing:
        context = _context(wheels, spark_tarball if spark_job in missing else None)
        try:
            if pipeline in missing:
                _build(pipeline, "pipeline", context, BASE=base)
            if spark_job in missing:
                _build(spark_job, "spark-job", context, BASE=base, SPARK_DIR=artifact("spark").top_dir)
        finally:
            shutil.rmtree(context, ignore_errors=True)
    for image in (pipeline, spark_job):
        repo, tag = image.split(":")
        run("docker", "tag", image, f"{repo}:latest")
        say(f"{repo} image: {image}")
    return dict(image.split(":") for image in (pipeline, spark_job))
