"""The host-side SHA-512 check accepts every checksum format the Apache archive
uses, and refuses a tarball that does not match."""
import hashlib
import subprocess

import pytest

from deploys.artifacts import VERIFY

NAME = "kafka_2.13-4.4.0.tgz"


def verify(tmp_path, checksum_text: str) -> subprocess.CompletedProcess:
    tarball = tmp_path / NAME
    tarball.write_bytes(b"not really a tarball, but bytes to hash")
    (tmp_path / f"{NAME}.sha512").write_text(checksum_text)
    return subprocess.run(["sh", "-c", VERIFY.format(path=tarball, name=NAME)], capture_output=True, text=True)


def digest() -> str:
    return hashlib.sha512(b"not really a tarball, but bytes to hash").hexdigest()


def gpg_style(hexdigest: str) -> str:  # Kafka's: "<file>: 8D2D 1F3E ..." wrapped over lines
    groups = [hexdigest.upper()[i:i + 8] for i in range(0, 128, 8)]
    return f"{NAME}: " + " ".join(groups[:6]) + "\n" + " ".join(groups[6:12]) + "\n" + " ".join(groups[12:]) + "\n"


@pytest.mark.parametrize("render", [
    lambda h: f"{h}  {NAME}\n",        # sha512sum (Spark, this project's mirror)
    lambda h: f"{h} *{NAME}\n",        # sha512sum in binary mode
    lambda h: f"{h}\n",                # bare digest (Cassandra)
    gpg_style,                          # gpg --print-md (Kafka)
], ids=["sha512sum", "binary-mode", "bare", "gpg"])
def test_accepts_every_archive_format(tmp_path, render):
    result = verify(tmp_path, render(digest()))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("render", [
    lambda h: f"{h[:-1]}0  {NAME}\n" if h[-1] != "0" else f"{h[:-1]}1  {NAME}\n",
    lambda h: "",
], ids=["wrong-digest", "empty-file"])
def test_refuses_a_mismatch(tmp_path, render):
    result = verify(tmp_path, render(digest()))
    assert result.returncode == 1 and f"SHA-512 mismatch for {tmp_path / NAME}" in result.stderr
