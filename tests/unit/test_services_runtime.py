"""Every service process: JSON log lines, /health over HTTP, degraded (not dead)
while its backends are unreachable, and a clean exit 0 on SIGTERM. The backends
here are closed ports on loopback; tests/services runs them against real ones."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None, None


UNREACHABLE = {"BIGDATA_HTTP_HOST": "127.0.0.1", "BIGDATA_KAFKA_BOOTSTRAP": "127.0.0.1:9",
               "BIGDATA_CASSANDRA_HOSTS": "127.0.0.1", "BIGDATA_CASSANDRA_PORT": "9",
               "BIGDATA_REDIS_HOST": "127.0.0.1", "BIGDATA_REDIS_PORT": "9",  # closed ports
               "BIGDATA_KAFKA_USER": "unit-test", "BIGDATA_KAFKA_PASSWORD": os.environ["BIGDATA_KAFKA_WRITER_PASSWORD"],
               "BIGDATA_CASSANDRA_USER": "unit-test"}


def degraded_then_sigterm(module: str, problems: list[str], log_path: Path) -> list[dict]:
    """Run `module` against unreachable backends: /health answers 503 "degraded" naming every
    problem, and SIGTERM exits 0. Returns its JSON log lines, from started through stopped."""
    port = free_port()
    env = {**os.environ, **UNREACHABLE, "BIGDATA_HTTP_PORT": str(port)}
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        status = body = None
        while time.monotonic() < deadline:
            status, body = health(port)
            if body and all(problem in (body.get("problem") or "") for problem in problems):
                break
            time.sleep(0.3)
        assert status == 503 and body["status"] == "degraded", body
        assert all(problem in body["problem"] for problem in problems), body
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "stopped" and "stopping" in events
    return lines


@pytest.mark.parametrize("module,problem", [
    ("services.storage_writer", "cannot reach Cassandra"),
    ("services.producer", "cannot reach Kafka"),
    ("services.redis_publisher", "cannot reach Redis"),
    ("services.live_lane", "cannot reach Redis"),
])
def test_unreachable_backends_degrade_health_and_sigterm_exits_0(module, problem, tmp_path):
    lines = degraded_then_sigterm(module, [problem], tmp_path / "out.log")
    assert all({"ts", "level", "service", "event"} <= set(line) for line in lines)
    assert "kafka_password" in lines[0]["settings"] and UNREACHABLE["BIGDATA_KAFKA_PASSWORD"] not in \
        json.dumps(lines)


def test_missing_secret_exits_2_with_its_name(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "BIGDATA_CASSANDRA_PASSWORD"},
           "BIGDATA_CASSANDRA_USER": "storage_writer"}
    done = subprocess.run([sys.executable, "-m", "services.storage_writer"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["event"] == "bad_settings" and "BIGDATA_CASSANDRA_PASSWORD is not set" in line["error"]

