"""The dashboard without backends: its history candles against a plain calculation,
the day partitions a period reads, the vendored front end, and the process degraded
(not dead) while Redis and Cassandra are unreachable, exiting 0 on SIGTERM. Against
real backends and a real Socket.IO client: tests/services/test_dashboard.py."""
import json
import os
from datetime import date

import pytest

from ctl import ROOT, frontend
from services.dashboard import app, history
from test_services_runtime import degraded_then_sigterm

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
