"""deploys/tls/pki.py: a host certificate verifies against its CA and no other, names
exactly what was asked, serves both ends of a connection; keys are written 0600; and a
host keeps its certificate only when nothing calls for a new one."""
import datetime
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from deploys.tls import pki

NAMES = pki.HostNames.of("@docker/rig1-bigdata-node1", "node1.bigdata.example", "10.0.0.11")


@pytest.fixture(scope="module")
def ca():
    return pki.create_ca("test CA")


@pytest.fixture(scope="module")
def issued(ca):
    return pki.issue(ca, NAMES, days=365)


def server_verify(ca_cert, cert_pem, name):
    subject = x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name)
    verifier = PolicyBuilder().store(Store([ca_cert])).build_server_verifier(subject)
    return verifier.verify(x509.load_pem_x509_certificate(cert_pem), [])


@pytest.mark.parametrize("name", ["node1.bigdata.example", "10.0.0.11"])
def test_the_host_certificate_verifies_against_its_ca_for_its_name_and_ip(ca, issued, name):
    chain = server_verify(ca.cert, issued[1], name)
    assert chain[-1] == ca.cert


def test_it_verifies_as_a_client_too(ca, issued):
    verifier = PolicyBuilder().store(Store([ca.cert])).build_client_verifier()
    verified = verifier.verify(x509.load_pem_x509_certificate(issued[1]), [])
    assert {san.value for san in verified.subjects if isinstance(san, x509.DNSName)} == {"node1.bigdata.example"}


def test_it_does_not_verify_against_another_ca(issued):
    other = pki.create_ca("test CA")  # the same name, another key
    with pytest.raises(VerificationError):
        server_verify(other.cert, issued[1], "node1.bigdata.example")


@pytest.mark.parametrize("name", ["node2.bigdata.example", "10.0.0.12", "rig1-bigdata-node1"])
def test_it_does_not_verify_for_a_name_it_does_not_carry(ca, issued, name):
    with pytest.raises(VerificationError):
        server_verify(ca.cert, issued[1], name)


def test_it_carries_exactly_the_names_and_ips_asked(issued):
    cert = x509.load_pem_x509_certificate(issued[1])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node1.bigdata.example"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.11")]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_names_leave_out_connector_names_and_repeats():
    names = pki.HostNames.of("@docker/bigdata", "bigdata", "BIGDATA", "172.18.0.2", "172.18.0.2", None, "not a name")
    assert names == pki.HostNames(("bigdata",), (ipaddress.ip_address("172.18.0.2"),))
    assert not pki.HostNames.of("@docker/x", None)
    with pytest.raises(ValueError, match="at least one"):
        pki.issue(pki.create_ca("c"), pki.HostNames.of(None), days=1)


def test_the_validity_is_the_days_asked_and_never_beyond_the_ca():
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    ca = pki.create_ca("short CA", days=100, now=now)
    host = x509.load_pem_x509_certificate(pki.issue(ca, NAMES, days=30, now=now)[1])
    assert host.not_valid_after_utc == now + datetime.timedelta(days=30)
    capped = x509.load_pem_x509_certificate(pki.issue(ca, NAMES, days=365, now=now)[1])
    assert capped.not_valid_after_utc == ca.cert.not_valid_after_utc
    assert ca.cert.not_valid_after_utc == now + datetime.timedelta(days=100)


def test_the_ca_is_p256_and_a_ca(ca):
    assert isinstance(ca.key.curve, ec.SECP256R1)
    assert ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_write_ca_keeps_the_key_to_its_owner_and_loads_back(ca, tmp_path):
    directory = tmp_path / "ca"
    cert_path, key_path = pki.write_ca(ca, directory)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    loaded = pki.load_ca(cert_path, key_path)
    assert loaded.cert == ca.cert and loaded.key.private_numbers() == ca.key.private_numbers()
    assert pki.ca_problem(cert_path, key_path) is None
    assert sorted(p.name for p in directory.iterdir()) == ["ca.crt", "ca.key"]  # no temporary file left


def test_write_private_tightens_a_file_that_was_open_to_all(tmp_path):
    path = tmp_path / "host.key"
    path.write_bytes(b"old")
    path.chmod(0o644)
    pki.write_private(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600


# --- when a host's certificate is issued again: one case each -----------------------------

NOW = datetime.datetime.now(datetime.timezone.utc)


def public(key_pem: bytes) -> bytes:
    """What the host reports of its key (`openssl pkey -pubout`): the public half, PEM."""
    return serialization.load_pem_private_key(key_pem, password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_the_same_ca_and_names_far_from_expiry_keep_the_certificate(ca, issued):
    key, cert = issued
    assert pki.renewal_reason(cert, public(key), ca, NAMES, renew_days=30, now=NOW) is None


@pytest.mark.parametrize("case, says", [
    ("rotate", "rotation asked"),
    ("no certificate", "it has none"),
    ("garbage certificate", "not a PEM certificate"),
    ("another CA", "issued by another CA"),
    ("no key", "key is missing"),
    ("garbage key", "not a PEM key"),
    ("another key", "does not match"),
    ("a name more", "names changed"),
    ("an IP changed", "names changed"),
    ("near expiry", "within tls_renew_days (30)"),
])
def test_anything_else_issues_a_new_one(ca, issued, case, says):
    key, cert = issued
    key = public(key)
    names, now, rotate = NAMES, NOW, False
    if case == "rotate":
        rotate = True
    elif case == "no certificate":
        cert = None
    elif case == "garbage certificate":
        cert = b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    elif case == "another CA":
        cert = pki.issue(pki.create_ca("test CA"), NAMES, days=365)[1]
    elif case == "no key":
        key = None
    elif case == "garbage key":
        key = b"not a key"
    elif case == "another key":
        key = public(pki.issue(ca, NAMES, days=365)[0])
    elif case == "a name more":
        names = pki.HostNames.of("node1.bigdata.example", "node1", "10.0.0.11")
    elif case == "an IP changed":
        names = pki.HostNames.of("node1.bigdata.example", "10.0.0.99")
    elif case == "near expiry":
        now = NOW + datetime.timedelta(days=345)  # 20 days left of 365
    reason = pki.renewal_reason(cert, key, ca, names, renew_days=30, rotate=rotate, now=now)
    assert reason is not None and says in reason, reason


def test_renewal_starts_exactly_when_fewer_days_remain_than_asked(ca):
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    key, cert = pki.issue(ca, NAMES, days=100, now=now)
    key = public(key)
    assert pki.renewal_reason(cert, key, ca, NAMES, renew_days=30, now=now + datetime.timedelta(days=70)) is None
    assert pki.renewal_reason(cert, key, ca, NAMES, renew_days=30,
                              now=now + datetime.timedelta(days=70, seconds=1)) is not None


# --- a CA that cannot be used: which setting, and why ---------------------------------------

def test_a_missing_or_broken_ca_names_the_setting(ca, tmp_path):
    cert_path, key_path = pki.write_ca(ca, tmp_path / "ca")
    assert pki.ca_problem(tmp_path / "none.crt", key_path) == (
        "tls_ca_cert", f"cannot read {tmp_path / 'none.crt'}: No such file or directory")
    assert pki.ca_problem(cert_path, tmp_path / "none.key")[0] == "tls_ca_key"
    (tmp_path / "bad.crt").write_text("nope")
    assert pki.ca_problem(tmp_path / "bad.crt", key_path) == ("tls_ca_cert", f"{tmp_path / 'bad.crt'} is not a PEM certificate")
    other_key = tmp_path / "other.key"
    pki.write_private(other_key, pki.create_ca("x").key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    assert "is not the key of the CA certificate" in pki.ca_problem(cert_path, other_key)[1]
    host_key, host_cert = pki.issue(ca, NAMES, days=10)
    (tmp_path / "host.crt").write_bytes(host_cert)
    assert "not a CA certificate" in pki.ca_problem(tmp_path / "host.crt", key_path)[1]
    assert "expires on" in pki.ca_problem(cert_path, key_path, renew_days=30,
                                          now=NOW + datetime.timedelta(days=pki.CA_DAYS - 10))[1]
