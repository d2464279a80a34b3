"""The dashboard without backends: its history candles against a plain calculation,
the day partitions a period reads, the vendored front end, and the process degraded
(not dead) while Redis and Cassandra are unreachable, exiting 0 on SIGTERM. Against
real backends and a real Socket.IO client: tests/services/test_dashboard.py."""
import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date

import pytest

from ctl import ROOT, frontend
from deploys.tls import pki
from services.dashboard import app, history
from test_services_runtime import UNREACHABLE, degraded_then_sigterm, free_port

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_candles_per_minute_with_open_close_by_trade_time():
    ticks = [(T0 + 30_000, 101.0, 100), (T0 + 1_000, 100.0, 300), (T0 + 59_999, 99.0, 0),
             (T0 + 60_000, 105.0, 0), (T0 + 61_000, 106.0, 0), (T0 + 1_000, 100.5, 100)]
    first, second = history.candles(ticks)
    assert first == {"time": T0 // 1000, "open": 100.0, "high": 101.0, "low": 99.0, "close": 99.0,
                     "average": pytest.approx((101 + 100 + 99 + 100.5) / 4),
                     "vwap": pytest.approx((100 * 300 + 100.5 * 100 + 101 * 100) / 500), "volume": 500, "count": 4}
    assert second["time"] == T0 // 1000 + 60 and second["open"] == 105.0 and second["close"] == 106.0
    assert second["vwap"] == second["average"] == pytest.approx(105.5), "volume 0: the average, as the job does"
    assert history.candles([]) == []


def test_days_between_newest_first_across_midnight():
    assert history.days_between(T0 - 3_600_000, T0 + 60_000) == [date(2026, 1, 1), date(2025, 12, 31)]
    assert history.days_between(T0 + 1, T0 + 2) == [date(2026, 1, 1)]


def test_frontend_bundle_vendors_the_files_the_page_loads():
    vendor = frontend.bundle()
    page = (ROOT / "services" / "dashboard" / "static" / "index.html").read_text()
    for name in frontend.FILES.values():
        assert (vendor / name).stat().st_size > 10_000
        assert f'src="/static/vendor/{name}"' in page
    assert set(app.VENDORED) == {f"vendor/{name}" for name in frontend.FILES.values()}
    assert "http://" not in page and "https://" not in page, "no CDN"
    assert frontend.up_to_date()


def test_missing_frontend_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(app, "STATIC", tmp_path)
    assert app.vendored_missing() == list(app.VENDORED)


def test_unreachable_backends_degrade_health_and_sigterm_exits_0(tmp_path):
    frontend.bundle()
    lines = degraded_then_sigterm("services.dashboard", ["redis: subscription lost", "cassandra: cannot connect"],
                                  tmp_path / "out.log")
    assert os.environ["BIGDATA_REDIS_PASSWORD"] not in json.dumps(lines)


@pytest.fixture
def guarded_dashboard(tmp_path):
    """The dashboard (its backends unreachable) with a login and HTTPS: its port and CA file."""
    frontend.bundle()
    ca = pki.create_ca("dashboard-test-ca")
    key, cert = pki.issue(ca, pki.HostNames.of("127.0.0.1"), 1)
    for name, pem in (("ca.crt", ca.cert_pem), ("host.key", key), ("host.crt", cert)):
        (tmp_path / name).write_bytes(pem)
    port = free_port()
    env = {**os.environ, **UNREACHABLE, "BIGDATA_HTTP_PORT": str(port), "BIGDATA_DASHBOARD_PASSWORD": PASSWORD,
           "BIGDATA_DASHBOARD_TLS_CERT": str(tmp_path / "host.crt"),
           "BIGDATA_DASHBOARD_TLS_KEY": str(tmp_path / "host.key")}
    log = (tmp_path / "dashboard.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "services.dashboard"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and get(port, "/health", context)[0] is None:
            assert process.poll() is None, (tmp_path / "dashboard.log").read_text()
            time.sleep(0.3)
        yield port, context, str(tmp_path / "ca.crt")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


PASSWORD = "dashboard-login-0123456789"


def get(port, path, context, login=None, scheme="https"):
    """(status, headers) of a GET; (None, None) when nothing answers."""
    headers = {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5, context=context if scheme == "https" else None) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)
    except OSError:
        return None, None


def test_a_login_guards_every_page_file_and_socketio_connection_over_https(guarded_dashboard):
    import requests
    import socketio
    port, context, ca = guarded_dashboard
    assert get(port, "/health", context)[0] == 503  # open to the orchestrator (degraded: no backends)
    for path in ("/", "/static/dashboard.js"):
        status, headers = get(port, path, context)
        assert status == 401 and headers["WWW-Authenticate"].startswith('Basic realm="bigdata dashboard"'), path
        assert get(port, path, context, login="viewer:not-the-password")[0] == 401, path
        assert get(port, path, context, login=f"viewer:{PASSWORD}")[0] == 200, path
    assert get(port, "/", context, scheme="http")[0] is None, "plain HTTP must get no page"

    def connects(login: str | None) -> bool:
        session = requests.Session()
        session.verify = ca  # this test's CA only
        client = socketio.Client(http_session=session, reconnection=False)
        headers = {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
        try:
            client.connect(f"https://127.0.0.1:{port}", headers=headers, transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return False
        client.disconnect()
        return True

    assert not connects(None) and not connects("viewer:not-the-password")
    assert connects(f"viewer:{PASSWORD}")

