"""The pipeline's own doors, on the real processes (their backends closed ports on loopback:
what is tested here answers before any backend does): the producer's control requests
need its token and its symbols are capped; malformed, oversized and slow HTTP gets a 4xx
or is dropped quickly, and never holds the service; connections beyond the cap get 503 at
once; the dashboard refuses a page of another origin, caps a page's symbols and its
snapshots per minute."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import socketio

from ctl import ROOT, frontend
from http_call import call
from test_services_runtime import UNREACHABLE, free_port, health

TOKEN = "doors-test-token-0123456789"


@pytest.fixture
def start(tmp_path):
    """start(module, **env) -> port: the service running (its /health answering), stopped at the end."""
    started = []

    def run(module: str, **env) -> int:
        port = free_port()
        log = (tmp_path / f"{module}.log").open("w")
        process = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **UNREACHABLE, "BIGDATA_HTTP_PORT": str(port),
                                        "BIGDATA_PRODUCER_TOKEN": TOKEN, **{k: str(v) for k, v in env.items()}})
        started.append(process)
        deadline = time.monotonic() + 30
        while health(port)[0] is None:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / f"{module}.log").read_text()
            time.sleep(0.2)
        return port

    yield run
    for process in started:
        process.kill()
        process.wait()


def raw(port: int, request: bytes, timeout: float = 5) -> tuple[bytes, float]:
    """What the service answers to these bytes (until it closes), and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return reply, time.monotonic() - started


# --- the producer's control requests ---------------------------------------------------------
def test_control_requests_need_the_token_and_symbols_are_capped(start):
    port = start("services.producer", BIGDATA_PRODUCER_SYMBOLS="AAPL,MSFT", BIGDATA_PRODUCER_MAX_SYMBOLS=3)
    assert call(port, "POST", "/GOOG")[0] == 401
    assert call(port, "POST", "/GOOG", token="not-the-token")[0] == 401
    assert call(port, "DELETE", "/AAPL")[0] == 401
    assert call(port, "GET", "/")[1]["symbols"] == ["AAPL", "MSFT"], "a refused request changed nothing"
    assert call(port, "POST", "/GOOG", token=TOKEN)[0] == 201
    status, body = call(port, "POST", "/TSLA", token=TOKEN)
    assert status == 409 and "at most 3 symbols" in body["error"]
    assert call(port, "POST", "/GOOG", token=TOKEN)[0] == 200, "one already produced is no more"
    assert call(port, "DELETE", "/AAPL", token=TOKEN)[0] == 200
    assert call(port, "POST", "/TSLA", token=TOKEN)[0] == 201


@pytest.mark.parametrize("env, says", [
    ({"BIGDATA_PRODUCER_TOKEN": ""}, "BIGDATA_PRODUCER_TOKEN is not set"),
    ({"BIGDATA_PRODUCER_SYMBOLS": "AAPL,MSFT,GOOG", "BIGDATA_PRODUCER_MAX_SYMBOLS": "2"},
     "names 3 symbols, more than BIGDATA_PRODUCER_MAX_SYMBOLS (2)"),
])
def test_the_producer_refuses_to_start_without_a_token_or_over_its_cap(env, says):
    done = subprocess.run([sys.executable, "-m", "services.producer"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **UNREACHABLE, "BIGDATA_PRODUCER_TOKEN": TOKEN, **env})
    assert done.returncode == 2
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["event"] == "bad_settings" and says in line["error"], line


# --- HTTP that is malformed, oversized or slow --------------------------------------------------
@pytest.mark.parametrize("length, status", [("-5", 400), ("abc", 400), (str(10**9), 413)])
def test_a_bad_content_length_gets_a_4xx_at_once(start, length, status):
    port = start("services.producer")
    reply, took = raw(port, f"POST /GOOG HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:200]
    assert took < 2, "answered and closed at once, the body never waited for"


def test_a_stalled_client_is_dropped_and_holds_no_one_else(start):
    port = start("services.producer", BIGDATA_HTTP_TIMEOUT_S=1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"POST /GOOG HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"partial\":")
        started = time.monotonic()
        assert health(port)[0] is not None, "another client is served meanwhile"
        slow.settimeout(5)  # not closed by then: socket.timeout fails the test
        while slow.recv(65536):  # a reply, if any, then the close
            pass
        assert 0.5 < time.monotonic() - started < 5, "dropped after BIGDATA_HTTP_TIMEOUT_S (1 s)"


def test_connections_beyond_the_cap_get_503_at_once(start):
    port = start("services.producer", BIGDATA_HTTP_MAX_CONNECTIONS=2, BIGDATA_HTTP_TIMEOUT_S=5)
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        time.sleep(0.5)  # both accepted, each holding a slot while it sends nothing
        reply, took = raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 503 ") and took < 2, reply[:200]
    finally:
        for connection in held:
            connection.close()
    deadline = time.monotonic() + 10
    while health(port)[0] is None:  # the slots are free again
        assert time.monotonic() < deadline
        time.sleep(0.2)


# --- the dashboard's Socket.IO ----------------------------------------------------------------
@pytest.fixture
def dashboard(start):
    frontend.bundle()
    return start("services.dashboard", BIGDATA_DASHBOARD_MAX_SYMBOLS=3, BIGDATA_DASHBOARD_SNAPSHOTS_PER_MINUTE=5)


def page(port: int, origin: str | None = None) -> socketio.Client:
    """A connected page: over WebSocket, which sends the page's own origin, or, with `origin`,
    over HTTP long-polling sending that Origin header (the WebSocket client adds its own)."""
    client = socketio.Client(reconnection=False)
    client.connect(f"http://127.0.0.1:{port}", transports=["polling"] if origin else ["websocket"],
                   wait_timeout=10, headers={"Origin": origin} if origin else {})
    return client


def test_a_page_of_another_origin_is_refused(dashboard):
    with pytest.raises(socketio.exceptions.ConnectionError, match="status code 400"):  # "Not an accepted origin."
        page(dashboard, origin="http://evil.example")
    for own in (page(dashboard, origin=f"http://127.0.0.1:{dashboard}"), page(dashboard)):
        assert own.call("subscribe", {"symbol": "AAPL"}, timeout=10) == {"symbol": "AAPL"}
        own.disconnect()


def test_a_page_shows_a_few_symbols_and_asks_a_few_snapshots_a_minute(dashboard):
    client = page(dashboard)
    try:
        for symbol in ("AAPL", "MSFT", "GOOG"):
            assert client.call("subscribe", {"symbol": symbol}, timeout=10) == {"symbol": symbol}
        refused = client.call("subscribe", {"symbol": "TSLA"}, timeout=10)
        assert "at most 3 symbols" in refused["error"]
        client.call("unsubscribe", {"symbol": "GOOG"}, timeout=10)
        assert client.call("subscribe", {"symbol": "TSLA"}, timeout=10) == {"symbol": "TSLA"}
        # four snapshots so far; the fifth is the last this minute
        assert client.call("subscribe", {"symbol": "AAPL"}, timeout=10) == {"symbol": "AAPL"}
        refused = client.call("subscribe", {"symbol": "MSFT"}, timeout=10)
        assert "at most 5 symbol snapshots a minute" in refused["error"]
    finally:
        client.disconnect()
    other = page(dashboard)  # the limits are per page
    try:
        assert other.call("subscribe", {"symbol": "MSFT"}, timeout=10) == {"symbol": "MSFT"}
    finally:
        other.disconnect()
