"""The deploys' one retry loop: retries a shell check until it passes, and gives up
after its timeout with the check's last output."""
import subprocess

from deploys.health import retry_script


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def test_retries_until_the_check_passes(tmp_path):
    tries = tmp_path / "tries"
    # passes on the third try
    check = f"echo x >> {tries}; [ $(wc -l < {tries}) -ge 3 ]"
    result = run(retry_script(check, timeout=20))
    assert result.returncode == 0, result.stderr
    assert len(tries.read_text().splitlines()) == 3


def test_gives_up_with_the_last_output():
    result = run(retry_script("echo still starting; false", timeout=1))
    assert result.returncode == 1 and "not ready after 1s: still starting" in result.stderr
