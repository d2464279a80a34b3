"""The platform's certificates, with the `cryptography` library on the control machine:
a certificate authority per platform, each host's certificate signed by it, PEM in and
out, and when a host's certificate must be issued again.

The algorithm is ECDSA on P-256 for every key: any TLS stack the platform runs accepts it
(Java's for Kafka, Cassandra and Spark, OpenSSL's for Redis, Python's ssl for the
services), its keys are made in milliseconds (the test rig makes a CA per run, a deploy a
key per host) where RSA 3072, of about the same strength, takes a large fraction of a
second each, and its handshakes cost less CPU, which the TLS bench (issue 14) will
measure. Private keys are written unencrypted in PKCS#8 ("BEGIN PRIVATE KEY"), the form
both Java's PEM key stores and OpenSSL read, and only ever with mode 0600 here (0640 on
hosts, for the service user's group).

The deploys (deploys/tls) and the control side (`./bigdata up`, the test rig) use it; it
lives in deploys, which ctl stands above, since shared/ keeps to the standard library.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650  # a platform's CA: ten years (its hosts' certificates: the tls_cert_days setting)
CA_CERT, CA_KEY = "ca.crt", "ca.key"  # a CA directory's two files
# issued slightly in the past, so that a host whose clock lags a little accepts it at once
BACKDATE = datetime.timedelta(minutes=5)
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")  # a host name: labels of letters, digits, hyphens

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey  # ours are EC; a CA of your own may be RSA

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class HostNames:
    """What a host's certificate names: DNS names and IP addresses (its SubjectAlternativeName)."""

    dns: tuple[str, ...]
    ips: tuple[IPAddress, ...]

    @classmethod
    def of(cls, *names: str | None) -> "HostNames":
        """The DNS names and IP addresses among `names` (a host's inventory name, its
        address, its resolved IP), sorted and without repeats. None, and what is neither
        (pyinfra's connector names such as "@docker/bigdata"), are left out."""
        dns, ips = set(), set()
        for name in filter(None, names):
            try:
                ips.add(ipaddress.ip_address(name))
            except ValueError:
                if _DNS_NAME.match(name):
                    dns.add(name.lower())
        return cls(tuple(sorted(dns)), tuple(sorted(ips, key=lambda ip: (ip.version, int(ip)))))

    @classmethod
    def in_cert(cls, cert: x509.Certificate) -> "HostNames":
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return cls((), ())
        return cls.of(*san.get_values_for_type(x509.DNSName),
                      *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)))

    def __bool__(self) -> bool:
        return bool(self.dns or self.ips)

    @property
    def common_name(self) -> str:
        """The subject's CN of a certificate for these names: the first DNS name, else the first
        IP (what a listener that knows its peers by certificate names them by: Kafka's brokers)."""
        return str((self.dns or self.ips)[0])

    def __str__(self) -> str:
        return ", ".join([*self.dns, *map(str, self.ips)])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def create_ca(name: str, days: int = CA_DAYS, now: datetime.datetime | None = None) -> Ca:
    """A new self-signed CA named `name`: it signs host certificates and nothing else."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    return Ca(cert, key)


def issue(ca: Ca, names: HostNames, days: int, now: datetime.datetime | None = None) -> tuple[bytes, bytes]:
    """A new key and a certificate for it, signed by `ca`, naming exactly `names`, for
    servers and clients alike (a broker is both): (key PEM, certificate PEM). It never
    outlives the CA."""
    if not names:
        raise ValueError("a host certificate needs at least one DNS name or IP address")
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    try:
        authority = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)
    except x509.ExtensionNotFound:  # a CA of your own without one
        authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.common_name)]))
            .issuer_name(ca.cert.subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + datetime.timedelta(days=days), ca.cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([*map(x509.DNSName, names.dns),
                                                        *map(x509.IPAddress, names.ips)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(authority, critical=False)
            .sign(ca.key, hashes.SHA256()))
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def renewal_reason(cert_pem: bytes | None, public_key_pem: bytes | None, ca: Ca, names: HostNames,
                   renew_days: int, rotate: bool = False, now: datetime.datetime | None = None) -> str | None:
    """Why a host whose current certificate and key (its public half: the private key never
    leaves the host) are these (None: absent) needs a new one, or None when it keeps them:
    they belong together, its CA signed it, it names exactly `names` and has more than
    `renew_days` left, and no rotation is asked."""
    if rotate:
        return "rotation asked with tls_rotate"
    if cert_pem is None:
        return "it has none"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return "its certificate is not a PEM certificate"
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return "its certificate was issued by another CA"
    if public_key_pem is None:
        return "its key is missing or unreadable"
    try:
        public_key = serialization.load_pem_public_key(public_key_pem)
    except (ValueError, TypeError):
        return "its key is not a PEM key"
    if public_key != cert.public_key():
        return "its key does not match its certificate"
    current = HostNames.in_cert(cert)
    if current != names:
        return f"its names changed ({current or 'none'} -> {names})"
    left = cert.not_valid_after_utc - (now or _now())
    if left < datetime.timedelta(days=renew_days):
        return f"it expires in {max(left.days, 0)} day(s), within tls_renew_days ({renew_days})"
    return None


def ca_problem(cert_path: str | Path, key_path: str | Path, renew_days: int = 0,
               now: datetime.datetime | None = None) -> tuple[str, str] | None:
    """(which file's setting, what is wrong) when these files are not a usable CA, else None."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except OSError as error:
        return "tls_ca_cert", f"cannot read {cert_path}: {error.strerror}"
    except ValueError:
        return "tls_ca_cert", f"{cert_path} is not a PEM certificate"
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        return "tls_ca_cert", f"{cert_path} is not a CA certificate (no BasicConstraints CA:TRUE)"
    left = cert.not_valid_after_utc - (now or _now())
    if left <= datetime.timedelta(days=renew_days):
        return "tls_ca_cert", (f"the CA {cert_path} expires on {cert.not_valid_after_utc:%Y-%m-%d}, within "
                               f"tls_renew_days ({renew_days}): make a new CA and name it")
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except OSError as error:
        return "tls_ca_key", f"cannot read {key_path}: {error.strerror}"
    except (ValueError, TypeError):
        return "tls_ca_key", f"{key_path} is not an unencrypted PEM private key"
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return "tls_ca_key", f"{key_path} is neither an EC nor an RSA key"
    if key.public_key() != cert.public_key():
        return "tls_ca_key", f"{key_path} is not the key of the CA certificate {cert_path}"
    return None


def load_ca(cert_path: str | Path, key_path: str | Path) -> Ca:
    """A CA's certificate and key (ca_problem has checked them)."""
    return Ca(x509.load_pem_x509_certificate(Path(cert_path).read_bytes()),
              serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None))


def write_private(path: str | Path, data: bytes) -> None:
    """Write a private key (or any secret) readable by its owner only (0600), atomically:
    a reader sees the old file or the new one, never a part, and never a looser mode."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_ca(ca: Ca, directory: str | Path) -> tuple[Path, Path]:
    """Save a CA as `directory`/ca.crt (0644) and ca.key (0600), the directory made 0700."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    write_private(key_path, _key_pem(ca.key))
    cert_path.write_bytes(ca.cert_pem)
    cert_path.chmod(0o644)
    return cert_path, key_path
