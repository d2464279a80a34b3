"""Apache release archives on hosts: fetched from `artifact_base_url` (the Apache
archive, a mirror URL, or a directory on the control machine laid out the same
way, such as the one `./bigdata mirror` builds), checked against their SHA-512
file, and unpacked once under `install_dir`."""
from pathlib import Path

from pyinfra import host
from pyinfra.facts.files import Directory
from pyinfra.operations import files, server

from deploys.versions import artifact

DOWNLOADS = "/var/cache/bigdata"

# Normalises every .sha512 format the archive uses ("<hex>  <file>", "<hex> *<file>",
# bare hex, gpg's "<file>: 8D2D 1F3E ..." over several lines) to bare lowercase hex.
VERIFY = ('want=$(sed -e "s|{path}||" -e "s|{name}||" -e "s|[*]||" {path}.sha512 | tr -d " \\n\\t:" '
          '| tr A-F a-f); got=$(sha512sum {path} | cut -d" " -f1); '
          '[ "$want" = "$got" ] || {{ echo "SHA-512 mismatch for {path}" >&2; exit 1; }}')


def install_distribution(name: str, base_url: str, install_dir: str, owner: str) -> str:
    """Fetch, verify and unpack a distribution; returns its home (a stable symlink,
    `<install_dir>/<name>`, to the versioned directory)."""
    dist = artifact(name)
    versioned = f"{install_dir}/{dist.top_dir}"
    home = f"{install_dir}/{name}"
    tarball = f"{DOWNLOADS}/{dist.filename}"
    files.directory(name=f"Create {DOWNLOADS}", path=DOWNLOADS, mode="0755")
    if host.get_fact(Directory, path=versioned) is None:
        _fetch(dist, base_url, tarball)
        server.shell(
            name=f"Verify and unpack {dist.filename}",
            commands=[VERIFY.format(path=tarball, name=dist.filename),
                      f"tar -xzf {tarball} -C {install_dir}",
                      f"chown -R root:{owner} {versioned}"],
        )
    files.link(name=f"Point {home} at {dist.top_dir}", path=home, target=versioned)
    return home


def _fetch(dist, base_url: str, tarball: str) -> None:
    local = base_url.removeprefix("file://")
    if local.startswith("/"):  # a directory on the control machine: upload from it
        for suffix in ("", ".sha512"):
            source = Path(local) / f"{dist.relpath}{suffix}"
            if not source.is_file():
                raise FileNotFoundError(f"{source} is missing: build the mirror with `./bigdata mirror` "
                                        f"or set artifact_base_url to a URL")
            files.put(name=f"Upload {source.name}", src=str(source), dest=f"{tarball}{suffix}")
    else:
        files.download(name=f"Download {dist.filename}", src=dist.url(base_url), dest=tarball)
        files.download(name=f"Download {dist.filename}.sha512", src=dist.checksum_url(base_url),
                       dest=f"{tarball}.sha512")
