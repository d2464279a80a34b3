"""Apache release archives on hosts: fetched from `artifact_base_url` (the Apache
archive, a mirror URL, or a directory on the control machine laid out the same
way, such as the one `./bigdata mirror` builds), checked against their SHA-512
file, and unpacked once under `install_dir`.

The .sha512 file is read on the control machine and parsed by the one parser of
every format the archive uses (`versions.sha512_from_checksum_file`, which the
mirror uses too); the host compares its tarball with that digest (`sha512sum -c`).
From a mirror URL the file is read when the run reaches it, so a plan (`--dry`)
needs no network."""
import urllib.request
from pathlib import Path

from pyinfra import host, logger
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.files import Directory
from pyinfra.operations import files, python, server

from deploys.versions import artifact, sha512_from_checksum_file

DOWNLOADS = "/var/cache/bigdata"


def verify_command(path: str, digest: str) -> str:
    """Shell that fails, saying so, unless the SHA-512 of the file at `path` is `digest`."""
    return (f"echo '{digest}  {path}' | sha512sum -c --status "
            f'|| {{ echo "SHA-512 mismatch for {path}" >&2; exit 1; }}')


def install_distribution(name: str, base_url: str, install_dir: str, owner: str) -> str:
    """Fetch, verify and unpack a distribution; returns its home (a stable symlink,
    `<install_dir>/<name>`, to the versioned directory)."""
    dist = artifact(name)
    versioned = f"{install_dir}/{dist.top_dir}"
    home = f"{install_dir}/{name}"
    tarball = f"{DOWNLOADS}/{dist.filename}"
    files.directory(name=f"Create {DOWNLOADS}", path=DOWNLOADS, mode="0755")
    if host.get_fact(Directory, path=versioned) is None:
        _fetch_and_verify(dist, base_url, tarball)
        server.shell(
            name=f"Unpack {dist.filename}",
            commands=[f"tar -xzf {tarball} -C {install_dir}", f"chown -R root:{owner} {versioned}"],
        )
    files.link(name=f"Point {home} at {dist.top_dir}", path=home, target=versioned)
    return home


def _fetch_and_verify(dist, base_url: str, tarball: str) -> None:
    """Put the tarball on the host and check it against the SHA-512 its .sha512 file gives."""
    local = base_url.removeprefix("file://")
    if local.startswith("/"):  # a directory on the control machine: upload from it
        source = Path(local) / dist.relpath
        checksum = Path(local) / dist.checksum_relpath
        for path in (source, checksum):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: build the mirror with `./bigdata mirror` "
                                        f"or set artifact_base_url to a URL")
        files.put(name=f"Upload {source.name}", src=str(source), dest=tarball)
        digest = checksum_of(checksum.read_text(), str(checksum))
        server.shell(name=f"Verify {dist.filename}", commands=[verify_command(tarball, digest)])
    else:
        files.download(name=f"Download {dist.filename}", src=dist.url(base_url), dest=tarball)
        # read when the run gets here, not while planning: a plan (--dry) needs no mirror
        python.call(name=f"Verify {dist.filename}", function=_verify_from_url,
                    url=dist.checksum_url(base_url), tarball=tarball)


def checksum_of(text: str, origin: str) -> str:
    try:
        return sha512_from_checksum_file(text)
    except ValueError as error:
        raise DeployError(f"{origin}: {error}") from None


def _verify_from_url(state, host, url: str, tarball: str) -> bool:
    """pyinfra calls this (with its state and the host) when the run gets here; False
    fails the host's run, with one line saying why."""
    try:
        digest = checksum_of(read_url(url), url)
        ok, _ = host.run_shell_command(command=verify_command(tarball, digest))
        if not ok:
            raise DeployError(f"{tarball}: SHA-512 mismatch against {url} (a corrupt download or mirror)")
    except DeployError as error:
        host.log_styled(str(error), fg="red", log_func=logger.error)
        return False
    return True


def read_url(url: str) -> str:
    """A checksum file from a mirror URL, read by the control machine (so the control
    machine must reach the mirror too); unreachable: one line saying so."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read().decode()
    except OSError as error:
        raise DeployError(f"artifact_base_url: cannot read {url} from the control machine "
                          f"({getattr(error, 'reason', error)}); check the URL, or use a local mirror "
                          f"directory (`./bigdata mirror`)") from None
