"""deploys/tls run for real by pyinfra, on this machine (its @local connector) into a
temporary tls_dir: the files and their modes, a second run changing nothing, rotation
and a new CA each a run that issues a new certificate, then nothing again.

Root only (the files are owned by root); tests/cluster runs the deploy on real hosts."""
import os
import re
import stat
import subprocess
import sys
import textwrap

import pytest
from cryptography import x509

from ctl import ROOT
from deploys.tls import pki

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the deploy makes root-owned files")


@pytest.fixture
def run(tmp_path):
    cas = {name: pki.write_ca(pki.create_ca(f"deploy test {name}"), tmp_path / name) for name in ("ca1", "ca2")}
    (tmp_path / "deploy.py").write_text("from deploys.tls import install_tls\n\ninstall_tls()\n")

    def deploy(ca: str = "ca1", *args: str) -> int:
        """One run; how many operations changed something."""
        cert, key = cas[ca]
        (tmp_path / "inventory.py").write_text(textwrap.dedent(f"""\
            hosts = [("@local", {{"address": "localhost", "tls_enabled": True, "service_user": "root",
                                 "tls_ca_cert": {str(cert)!r}, "tls_ca_key": {str(key)!r},
                                 "tls_dir": {str(tmp_path / "etc" / "tls")!r}}})]
            """))
        done = subprocess.run([sys.executable, "-m", "pyinfra", "inventory.py", "deploy.py", "-y", *args],
                              cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        total = re.search(r"Grand total\s+\d+\s+(\S+)\s+(\S+)", done.stderr + done.stdout)
        assert total and total[2] == "-", done.stderr  # no error
        return 0 if total[1] == "-" else int(total[1])

    return deploy


def test_the_host_gets_its_files_and_a_second_run_changes_nothing(run, tmp_path):
    tls_dir = tmp_path / "etc" / "tls"
    assert run() == 4  # the directory, ca.crt, host.key, host.crt
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tls_dir.iterdir()}
    assert modes == {"ca.crt": 0o644, "host.crt": 0o644, "host.key": 0o640}
    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o750
    cert = x509.load_pem_x509_certificate((tls_dir / "host.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / "ca1" / "ca.crt").read_bytes()))
    first = (tls_dir / "host.crt").read_bytes(), (tls_dir / "host.key").read_bytes()
    assert run() == 0
    assert ((tls_dir / "host.crt").read_bytes(), (tls_dir / "host.key").read_bytes()) == first


def test_rotation_and_a_new_ca_are_each_a_run_and_then_nothing(run, tmp_path):
    tls_dir = tmp_path / "etc" / "tls"
    run()
    serials = [x509.load_pem_x509_certificate((tls_dir / "host.crt").read_bytes()).serial_number]
    assert run("ca1", "--data", "tls_rotate=true") == 2  # a new key and certificate
    serials.append(x509.load_pem_x509_certificate((tls_dir / "host.crt").read_bytes()).serial_number)
    assert run() == 0
    assert run("ca2") == 3  # the CA's certificate too
    cert = x509.load_pem_x509_certificate((tls_dir / "host.crt").read_bytes())
    assert cert.issuer.rfc4514_string() == "CN=deploy test ca2" and len({*serials, cert.serial_number}) == 3
    assert (tls_dir / "ca.crt").read_bytes() == (tmp_path / "ca2" / "ca.crt").read_bytes()
    assert run("ca2") == 0


def test_a_lost_key_is_replaced_with_a_new_certificate(run, tmp_path):
    tls_dir = tmp_path / "etc" / "tls"
    run()
    (tls_dir / "host.key").unlink()  # e.g. a run stopped between the key and the certificate
    assert run() == 2
    assert run() == 0
