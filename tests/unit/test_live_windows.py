"""The live lane's open windows (services/live_lane/windows.py) against an independent
calculation of the same candles."""
from __future__ import annotations

import json
import random

import pytest

from services.live_lane.windows import OpenWindows


def independent(ticks, length):
    """(symbol, window_start) -> candle of (symbol, price, volume, trade_time, offset) ticks."""
    out = {}
    for symbol, price, volume, trade_time, offset in ticks:
        out.setdefault((symbol, trade_time - trade_time % length), []).append((trade_time, offset, price, volume))
    candles = {}
    for key, rows in out.items():
        rows.sort()
        prices = [r[2] for r in rows]
        volume = sum(r[3] for r in rows)
        candles[key] = {"open": prices[0], "close": prices[-1], "high": max(prices), "low": min(prices),
                        "count": len(rows), "volume": volume, "average": pytest.approx(sum(prices) / len(prices)),
                        "vwap": pytest.approx(sum(r[2] * r[3] for r in rows) / volume if volume
                                              else sum(prices) / len(prices)),
                        "last_trade_time": max(r[0] for r in rows)}
    return candles


def test_windows_equal_an_independent_calculation_out_of_order_ties_and_zero_volume():
    rng = random.Random(7)
    base = 1_767_225_600_000
    ticks = []
    for offset in range(3000):
        symbol = rng.choice(["AAPL", "MSFT", "BRK.B"])
        trade_time = base + rng.randrange(0, 5_000)          # out of order, within the watermark
        if offset % 50 == 0 and ticks:
            trade_time = ticks[-1][3]                        # a tie in trade time: log order decides
        ticks.append((symbol, round(rng.uniform(99, 101), 2), rng.choice([0, 100, 300]), trade_time, offset))
    windows = OpenWindows(("1s", "1m"), watermark_ms=10_000)
    for tick in ticks:
        windows.add(*tick)
    records = {(r.symbol, r.window, r.window_start): json.loads(r.json) for r in windows.take_changed(123)}
    for label, length in (("1s", 1000), ("1m", 60_000)):
        expected = independent(ticks, length)
        got = {(s, start): {k: v for k, v in rec.items() if k in expected[(s, start)]}
               for (s, w, start), rec in records.items() if w == label}
        assert got == expected
    assert all(r["provisional"] is True and r["published_at"] == 123 for r in records.values())
    assert windows.take_changed() == [], "each change sent once"


def test_a_window_the_watermark_passed_is_closed_and_a_tick_for_it_is_late():
    windows = OpenWindows(("1s",), watermark_ms=2_000)
    windows.add("AAPL", 100.0, 100, 10_500, 1)
    windows.add("AAPL", 101.0, 100, 13_200, 2)     # the watermark is now 11,200: [10,000, 11,000) is closed
    assert windows.expire() == 1
    windows.add("AAPL", 99.0, 100, 10_900, 3)      # too late
    assert windows.late == 1
    assert [(r.window_start, r.count) for r in windows.take_changed()] == [(13_000, 1)]


def test_a_rebuild_ignores_windows_that_started_before_it_and_forget_drops_symbols():
    windows = OpenWindows(("1m",), watermark_ms=10_000)
    windows.add("AAPL", 100.0, 100, 125_000, 1, not_before=130_000)   # its minute began before the rebuild
    windows.add("AAPL", 100.0, 100, 185_000, 2, not_before=130_000)
    windows.add("MSFT", 50.0, 100, 185_000, 3, not_before=130_000)
    assert sorted((r.symbol, r.window_start) for r in windows.take_changed()) == [("AAPL", 180_000),
                                                                                ("MSFT", 180_000)]
    windows.forget({"AAPL"})
    assert [key[0] for key in windows.candles] == ["MSFT"]
