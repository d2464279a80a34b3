"""Every host's TLS certificate, from the platform's CA (deploys/tls/pki.py).

On the control machine, at deploy time, the host's certificate is issued for its names
(its inventory name, its `address`, the IP that resolves to) and signed by the CA named
by tls_ca_cert and tls_ca_key; the host gets tls_dir/ca.crt, host.crt and host.key
(the key 0640, root and the service user's group; the directory 0750).

A run keeps the certificate the host has unless it must be issued again (pki.renewal_reason):
another CA signed it, its names changed, its key does not match, it expires within
tls_renew_days, or rotation is asked. Rotation is a whole-site deploy run with tls_rotate
for that run only, e.g.

    pyinfra inventories/cluster.py deploys/site.py --data tls_rotate=true

so that each TLS listener restarts onto its new certificate in the same run (its
configuration names the certificate's digest: listener_files). A run of the certificates
alone (BIGDATA_COMPONENTS=tls) renews the files, and the listeners keep serving the old
certificate, still valid, until their own deploy runs. Redis, Kafka, Cassandra and
ZooKeeper listen with them.
"""
from __future__ import annotations

import hashlib
import ipaddress
import shlex
from dataclasses import dataclass
from io import StringIO

from pydantic import Field, ValidationInfo, field_validator
from pyinfra import host, logger
from pyinfra.api import FactBase, deploy
from pyinfra.api.exceptions import DeployError
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files, server

from deploys.common import Settings as CommonSettings
from deploys.facts import ResolvedAddress
from deploys.settings import ComponentSettings
from deploys.tls import pki
from deploys.topology import address

CA_FILE, CERT_FILE, KEY_FILE = "ca.crt", "host.crt", "host.key"  # in tls_dir on each host


class Settings(ComponentSettings):
    # every host (groups: "all")

    # on: every host gets its certificate (and, as issue 14 goes on, every listener uses it)
    tls_enabled: bool = False
    # the CA's certificate and key, PEM files on the control machine (inventories/group_data/all.py
    # names BIGDATA_CA_DIR's or inventories/ca/'s; `./bigdata up` generates that one)
    tls_ca_cert: str | None = None
    tls_ca_key: str | None = None
    tls_cert_days: int = Field(365, ge=2, le=3650)  # a host certificate's validity
    tls_renew_days: int = Field(30, ge=1)  # a run issues a new one when fewer days remain
    tls_dir: str = Field("/etc/bigdata/tls", pattern=r"^/[^\s]*[^/\s]$")  # on each host
    tls_rotate: bool = False  # for one run: every host gets a new key and certificate

    @field_validator("tls_renew_days")
    @classmethod
    def _renewal_before_expiry(cls, days: int, info: ValidationInfo) -> int:
        cert_days = info.data.get("tls_cert_days")
        if cert_days is not None and days >= cert_days:
            raise ValueError(f"{days} is not below tls_cert_days ({cert_days}): every run would issue "
                             f"the certificates again")
        return days

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        if not self.tls_enabled:
            return []
        hint = ("a PEM file on the control machine: `./bigdata up` generates the local CA into inventories/ca/; "
                "a real cluster names its own (BIGDATA_CA_DIR, or tls_ca_cert and tls_ca_key)")
        missing = [(key, f"missing: tls_enabled needs it ({hint})") for key in ("tls_ca_cert", "tls_ca_key") if not getattr(self, key)]
        if missing:
            return missing
        problem = pki.ca_problem(self.tls_ca_cert, self.tls_ca_key, self.tls_renew_days)
        return [problem] if problem else []


# host name -> a digest of the certificate it has after this run (install_tls records it)
_ISSUED: dict[str, str] = {}


def _digest(cert_pem: bytes | None) -> str:
    return hashlib.sha256(cert_pem or b"").hexdigest()[:16]


@dataclass(frozen=True)
class ListenerFiles:
    """What a TLS listener on this host is configured with: the files' paths, and a digest of
    the certificate this run leaves there: a component that writes it into its configuration
    restarts when the certificate is issued again (a rotation reaches every listener)."""
    ca: str
    cert: str
    key: str
    group: str  # the group that may read the key: a daemon running as another user joins it
    cert_digest: str


def _keystore(tls: ListenerFiles, directory: str, suffix: str, make: str, **op_kwargs) -> str:
    """A keystore in `directory` made from the host's key and certificate by the shell command
    `make` (it writes `{out}`), readable by the service group only, named by the certificate's
    digest: a new certificate is a new file, so the configuration naming it changes and the
    listener restarts onto it. Made when missing; older ones removed."""
    path = f"{directory}/keystore-{tls.cert_digest}.{suffix}"
    if not host.get_fact(File, path=path):
        server.shell(
            name=f"Make the keystore {path} (the host's key and certificate)",
            commands=[f"umask 027 && {make.format(out=f'{path}.new')} && chgrp {tls.group} {path}.new "
                      f"&& mv {path}.new {path}",
                      f"find {directory} -maxdepth 1 -name 'keystore-*.{suffix}' ! -name keystore-{tls.cert_digest}.{suffix} "
                      f"-delete"],
            **op_kwargs,
        )
    return path


def pem_keystore(tls: ListenerFiles, directory: str) -> str:
    """A PEM keystore for a Java listener that reads PEM (Kafka, Cassandra, ZooKeeper): the key and
    the certificate in one file."""
    return _keystore(tls, directory, "pem", f"cat {tls.key} {tls.cert} > {{out}}")


def pkcs12_keystore(tls: ListenerFiles, directory: str, password: str) -> str:
    """A PKCS#12 keystore for a listener that reads only Java keystores (Marathon), under
    `password` (given to openssl in its environment, not on its command line)."""
    return _keystore(tls, directory, "p12", f"openssl pkcs12 -export -in {tls.cert} -inkey {tls.key} "
                                            f"-passout env:KEYSTORE_PASSWORD -out {{out}}",
                     _env={"KEYSTORE_PASSWORD": password})


def s_client(target: str, port: int, ca: str) -> str:
    """openssl s_client to a TLS listener at target:port, checking its certificate against
    `ca` and its name or IP (`target`), failing on a mismatch; stdin goes to the server and
    its answer to stdout (a plain `nc`, with the certificate checked)."""
    try:
        ipaddress.ip_address(target)
        verify = f"-verify_ip {target}"
    except ValueError:
        verify = f"-verify_hostname {target}"
    return (f"timeout 10 openssl s_client -quiet -connect {target}:{port} -CAfile {ca} {verify} "
            f"-verify_return_error 2>/dev/null")


def listener_files() -> ListenerFiles | None:
    """This host's TLS files for a listener, or None when TLS is off (tls_enabled)."""
    settings = Settings.from_host(host)
    if not settings.tls_enabled:
        return None
    directory = settings.tls_dir
    digest = _ISSUED.get(host.name) or _digest(_current(f"{directory}/{CERT_FILE}"))  # tls not in this run
    return ListenerFiles(f"{directory}/{CA_FILE}", f"{directory}/{CERT_FILE}", f"{directory}/{KEY_FILE}",
                         CommonSettings.from_host(host).service_user, digest)


def host_names() -> pki.HostNames:
    """What this host's certificate names: its inventory name and address (those that are
    DNS names or IPs) and the IP the address resolves to on the host."""
    return pki.HostNames.of(host.name, address(), host.get_fact(ResolvedAddress, hostname=address()))


def _current(path: str) -> bytes | None:
    lines = host.get_fact(FileContents, path=path)
    return None if lines is None else ("\n".join(lines) + "\n").encode()


class PublicKey(FactBase):
    """The public half of a private key file on the host, PEM (None: no such file or not a key):
    what the control machine compares with the certificate, so the private key never leaves the host."""

    def command(self, path: str) -> str:
        return f"openssl pkey -in {shlex.quote(path)} -pubout 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        text = "\n".join(output).strip()
        return text + "\n" if text.startswith("-----BEGIN PUBLIC KEY-----") else None


@deploy("TLS certificates", data_defaults=Settings.defaults())
def install_tls():
    """The CA's certificate and the host's own key and certificate in tls_dir.

    Args (inventory data, defaults in `Settings`):
        tls_enabled: off, nothing is done
        tls_ca_cert, tls_ca_key: the CA, on the control machine
        tls_cert_days, tls_renew_days, tls_rotate: a certificate's validity, when it is renewed, rotation
        tls_dir: where the files go on the host
    """
    settings = Settings.from_host(host)
    if not settings.tls_enabled:
        return
    group = CommonSettings.from_host(host).service_user
    ca = pki.load_ca(settings.tls_ca_cert, settings.tls_ca_key)
    names = host_names()
    if not names:
        raise DeployError(f"{host.name}: neither a DNS name nor an IP address to put in its TLS certificate: "
                          f"give the host an `address` in the inventory")
    directory = settings.tls_dir
    cert_path, key_path = f"{directory}/{CERT_FILE}", f"{directory}/{KEY_FILE}"
    public_key = host.get_fact(PublicKey, path=key_path)
    reason = pki.renewal_reason(_current(cert_path), public_key.encode() if public_key else None, ca, names, settings.tls_renew_days,
                                rotate=settings.tls_rotate)
    files.directory(name=f"Create {directory}", path=directory, user="root", group=group, mode="0750")
    files.put(name="Put the CA's certificate", src=StringIO(ca.cert_pem.decode()), dest=f"{directory}/{CA_FILE}",
              user="root", group=group, mode="0644")
    if reason is None:  # kept as they are: only their owners and modes are seen to
        _ISSUED[host.name] = _digest(_current(cert_path))
        files.file(name="Keep the host's key", path=key_path, user="root", group=group, mode="0640")
        files.file(name="Keep the host's certificate", path=cert_path, user="root", group=group, mode="0644")
        return
    logger.info(f"{host.name}: a new TLS certificate for {names}: {reason}")
    key_pem, cert_pem = pki.issue(ca, names, settings.tls_cert_days)
    _ISSUED[host.name] = _digest(cert_pem)
    # the key first: should the run stop between the two, the next one sees a key that
    # does not match the certificate and issues both again
    files.put(name="Put the host's new key", src=StringIO(key_pem.decode()), dest=key_path,
              user="root", group=group, mode="0640")
    files.put(name=f"Put the host's new certificate ({reason})", src=StringIO(cert_pem.decode()), dest=cert_path,
              user="root", group=group, mode="0644")
