"""deploys/tls on one node and on three: each host's certificate from the run's CA, for the
host's names and address, its key readable by root and the service group only; rotation a
deploy run that gives every host a new key, then nothing again."""
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ctl import hosts
from shared import secrets
from deploys import tls
from deploys.common import Settings as CommonSettings
from deploys.tls import pki

TLS_ONLY = {"BIGDATA_COMPONENTS": "tls"}  # a rerun touches the common base and the certificates only


def the_ca() -> pki.Ca:
    return pki.load_ca(secrets.ca_file(pki.CA_CERT), secrets.ca_file(pki.CA_KEY))


def host_files(platform, name: str, host) -> tuple[x509.Certificate, bytes, str]:
    """(the host's certificate, its key's public half as the host computes it, tls_dir)"""
    tls_dir = platform.settings(name, tls.Settings).tls_dir
    cert = x509.load_pem_x509_certificate(host.file(f"{tls_dir}/{tls.CERT_FILE}").content_string.encode())
    public = host.check_output(f"openssl pkey -in {tls_dir}/{tls.KEY_FILE} -pubout").encode()
    return cert, public, tls_dir


def test_each_host_has_a_certificate_from_the_ca_for_its_names(platform):
    ca = the_ca()
    for name, host in zip(platform.names, platform.hosts):
        cert, public, tls_dir = host_files(platform, name, host)
        cert.verify_directly_issued_by(ca.cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert name in san.get_values_for_type(x509.DNSName)
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [hosts.ip_address(name)]
        assert serialization.load_pem_public_key(public) == cert.public_key(), f"{name}: key and certificate differ"
        assert host.file(f"{tls_dir}/{tls.CA_FILE}").content_string.encode() == ca.cert_pem
        group = platform.settings(name, CommonSettings).service_user
        key = host.file(f"{tls_dir}/{tls.KEY_FILE}")
        assert (key.user, key.group, key.mode) == ("root", group, 0o640)
        directory = host.file(tls_dir)
        assert (directory.user, directory.group, directory.mode) == ("root", group, 0o750)
        # the service user reads its key; any other user does not
        assert host.run(f"runuser -u {group} -- cat {tls_dir}/{tls.KEY_FILE}").rc == 0
        assert host.run(f"runuser -u nobody -- cat {tls_dir}/{tls.KEY_FILE}").rc != 0


def test_rotation_is_a_run_that_gives_every_host_a_new_key_then_nothing(platform):
    before = {name: host_files(platform, name, host)[:2] for name, host in zip(platform.names, platform.hosts)}
    rotated = platform.deploy(extra_env=TLS_ONLY, data={"tls_rotate": "true"},
                              log_name=f"tls-rotate-{len(platform.names)}")
    assert rotated.returncode == 0 and rotated.changed == 2 * len(platform.names), rotated.output[-3000:]
    ca = the_ca()
    for name, host in zip(platform.names, platform.hosts):
        cert, public, _ = host_files(platform, name, host)
        old_cert, old_public = before[name]
        assert public != old_public and cert.serial_number != old_cert.serial_number, f"{name} kept its key"
        cert.verify_directly_issued_by(ca.cert)
        assert serialization.load_pem_public_key(public) == cert.public_key()
    again = platform.deploy(extra_env=TLS_ONLY, log_name=f"tls-rotate-{len(platform.names)}-again")
    assert again.returncode == 0 and again.changed == 0, again.output[-3000:]
