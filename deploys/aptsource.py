"""A third-party apt repository with its own signing key (apt's `signed-by`, no
apt-key): what the Mesos and Docker deploys add when their package source is
not Debian's own."""
from io import StringIO

from pyinfra.operations import apt, files
from pyinfra.operations.util import any_changed

KEYRINGS = "/etc/apt/keyrings"


def add_repository(label: str, slug: str, repository: str, suite: str, component: str,
                   key_url: str, key_sha256: str | None = None):
    """Add `deb [signed-by=<key>] repository suite component` and refresh apt when it
    or the key changed. key_url: a URL, or a file on the control machine (starts with /).
    Returns the apt refresh operation."""
    files.directory(name=f"Create {KEYRINGS}", path=KEYRINGS, mode="0755")
    key_file = f"{KEYRINGS}/bigdata-{slug}.asc"
    if key_url.startswith("/"):
        key = files.put(name=f"Upload the {label} repository's signing key ({key_url})",
                        src=key_url, dest=key_file, mode="0644")
    else:
        key = files.download(name=f"Download the {label} repository's signing key ({key_url})",
                             src=key_url, dest=key_file, mode="0644", sha256sum=key_sha256)
    line = f"deb [signed-by={key_file}] {repository} {suite} {component}\n"
    source = files.put(name=f"Add the {label} apt repository ({line.strip()})", src=StringIO(line),
                       dest=f"/etc/apt/sources.list.d/bigdata-{slug}.list", mode="0644")
    return apt.update(name=f"Refresh the apt cache for the {label} repository",
                      _if=any_changed(key, source))
