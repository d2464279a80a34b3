"""SHA-512 checking: the one parser reads every checksum format the Apache archive
uses, and the host-side check refuses a tarball that does not match."""
import hashlib
import subprocess

import pytest

from pyinfra.api.exceptions import DeployError

from deploys.artifacts import read_url, verify_command
from deploys.versions import sha512_from_checksum_file

NAME = "kafka_2.13-4.4.0.tgz"
CONTENT = b"not really a tarball, but bytes to hash"
DIGEST = hashlib.sha512(CONTENT).hexdigest()


def gpg_style(hexdigest: str) -> str:  # Kafka's: "<file>: 8D2D 1F3E ..." wrapped over lines
    groups = [hexdigest.upper()[i:i + 8] for i in range(0, 128, 8)]
    return f"{NAME}: " + " ".join(groups[:6]) + "\n" + " ".join(groups[6:12]) + "\n" + " ".join(groups[12:]) + "\n"


@pytest.mark.parametrize("render", [
    lambda h: f"{h}  {NAME}\n",        # sha512sum (Spark, this project's mirror)
    lambda h: f"{h} *{NAME}\n",        # sha512sum in binary mode
    lambda h: f"{h}\n",                # bare digest (Cassandra)
    gpg_style,                          # gpg --print-md (Kafka)
], ids=["sha512sum", "binary-mode", "bare", "gpg"])
def test_reads_every_archive_format(render):
    assert sha512_from_checksum_file(render(DIGEST)) == DIGEST


@pytest.mark.parametrize("text", ["", f"{DIGEST[:-2]}  {NAME}\n", "<html>Not Found</html>"],
                         ids=["empty", "short", "an-error-page"])
def test_refuses_what_is_no_checksum(text):
    with pytest.raises(ValueError, match="not a SHA-512 checksum file"):
        sha512_from_checksum_file(text)


def verify(tmp_path, digest: str) -> subprocess.CompletedProcess:
    tarball = tmp_path / NAME
    tarball.write_bytes(CONTENT)
    return subprocess.run(["sh", "-c", verify_command(str(tarball), digest)], capture_output=True, text=True)


def test_the_host_accepts_a_matching_tarball(tmp_path):
    result = verify(tmp_path, DIGEST)
    assert result.returncode == 0, result.stderr


def test_the_host_refuses_a_mismatch(tmp_path):
    result = verify(tmp_path, hashlib.sha512(b"other bytes").hexdigest())
    assert result.returncode == 1 and f"SHA-512 mismatch for {tmp_path / NAME}" in result.stderr


def test_an_unreachable_mirror_is_one_line_naming_the_setting():
    with pytest.raises(DeployError, match=r"^artifact_base_url: cannot read http://127\.0\.0\.1:9/k\.sha512 "
                                          r"from the control machine \(.*\); check the URL"):
        read_url("http://127.0.0.1:9/k.sha512")  # the discard port: nothing listens


def test_a_mirror_url_is_read(tmp_path):
    import functools
    import http.server
    import threading
    (tmp_path / "k.sha512").write_text(f"{DIGEST}  {NAME}\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        text = read_url(f"http://127.0.0.1:{server.server_address[1]}/k.sha512")
        server.shutdown()
    assert sha512_from_checksum_file(text) == DIGEST
