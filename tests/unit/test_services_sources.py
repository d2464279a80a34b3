"""The producer's sources: realistic, valid ticks; symbols change at run time."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.core.settings import DEFAULT_SYMBOLS
from services.core.tick import Rules, encode, validate
from services.producer import reference_prices
from services.producer.sources import ReplaySource, SyntheticSource, UnknownSymbol, Walk, load_history

ROOT = Path(__file__).resolve().parents[2]
RULES = Rules(currencies=frozenset({"USD"}))


def valid(quotes, source):
    for n, (symbol, price, volume, trade_time) in enumerate(quotes):
        validate(encode(f"{source}-run-{n}", symbol, price, "USD", trade_time, volume, source), RULES,
                 trade_time, key=symbol)
    return True


def test_every_default_symbol_starts_near_its_reference_price():
    assert set(DEFAULT_SYMBOLS) <= set(reference_prices.USD)
    for symbol in DEFAULT_SYMBOLS:
        for seed in (1, 2, 3):
            first, _ = Walk(seed, symbol).step()
            assert first == pytest.approx(reference_prices.USD[symbol], rel=0.03), (symbol, seed, first)
    assert Walk(1, "AAPL").step() != Walk(2, "AAPL").step()  # near the level, not at it: seeds still differ


def test_a_symbol_without_a_reference_starts_anywhere_plausible():
    starts = [Walk(seed, "ZZZZ").step()[0] for seed in range(20)]
    assert all(10 <= price <= 500 for price in starts) and len(set(starts)) > 1


def test_synthetic_walks_are_seeded_and_realistic():
    first = SyntheticSource(["AAPL", "MSFT", "BRK.B"], rate=0, seed=1).due(time.monotonic())
    again = SyntheticSource(["AAPL", "MSFT", "BRK.B"], rate=0, seed=1).due(time.monotonic())
    other = SyntheticSource(["AAPL", "MSFT", "BRK.B"], rate=0, seed=2).due(time.monotonic())
    strip = lambda quotes: [q[:3] for q in quotes]  # noqa: E731 (the time differs)
    assert strip(first) == strip(again) and strip(first) != strip(other)
    assert valid(first, "synthetic")
    by_symbol = {}
    for symbol, price, _, _ in first:
        by_symbol.setdefault(symbol, []).append(price)
        assert round(price * 100) == pytest.approx(price * 100, abs=1e-6), "prices move in whole cents"
    for prices in by_symbol.values():
        moves = [abs(b - a) / a for a, b in zip(prices, prices[1:])]
        assert max(moves) < 0.01, "a tick moves the price by well under 1%"
    volumes = [q[2] for q in first]
    assert sum(v % 100 == 0 for v in volumes) > len(volumes) / 2, "mostly round lots"
    assert any(v % 100 for v in volumes), "some odd lots"


def test_synthetic_rate_is_kept():
    source = SyntheticSource(["AAPL", "MSFT"], rate=2000, seed=1)
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < 0.5:
        count += len(source.due(time.monotonic()))
        time.sleep(0.005)
    assert 800 <= count <= 1100


def test_symbols_are_added_and_removed():
    source = SyntheticSource(["AAPL"], rate=0, seed=1)
    assert source.add("MSFT") is True and source.add("MSFT") is False
    assert source.remove("AAPL") is True and source.remove("AAPL") is False
    assert source.symbols() == ["MSFT"]
    assert {q[0] for q in source.due(time.monotonic())} == {"MSFT"}
    with pytest.raises(ValueError):
        source.add("not a symbol")
    source.remove("MSFT")
    assert source.due(time.monotonic()) == []


def test_replay_plays_the_packaged_history_in_order():
    history = load_history()
    assert set(history) == {"AAPL", "FB", "GOOG", "IBM", "MSFT"}
    assert history["AAPL"][0][0] == "2000-03-01"
    source = ReplaySource(["AAPL", "AMZN"], speed=1000, loop=False, history=history)
    assert source.symbols() == ["AAPL"] and source.skipped == ["AMZN"]
    with pytest.raises(UnknownSymbol, match="no history for AMZN"):
        source.add("AMZN")
    time.sleep(0.01)
    quotes = source.due(time.monotonic())
    assert len(quotes) >= 8 and valid(quotes, "replay")
    day, o, h, low, c, volume = history["AAPL"][0]
    assert [q[1] for q in quotes[:4]] == ([o, low, h, c] if c >= o else [o, h, low, c])
    assert sum(q[2] for q in quotes[:4]) == volume


def test_replay_without_loop_ends():
    history = {"AAPL": load_history()["AAPL"][:3]}
    source = ReplaySource(["AAPL"], speed=1000, loop=False, history=history)
    time.sleep(0.05)
    assert len(source.due(time.monotonic())) == 12
    source.due(time.monotonic())
    assert source.exhausted and source.symbols() == []


def test_live_source_fails_clearly_without_network(tmp_path):
    """No internet here: the producer says so and exits 3 instead of hanging or
    producing nothing. Its requests go to a closed port on loopback (a proxy that
    refuses), so this test sends nothing off the machine."""
    refuse = "http://127.0.0.1:9"
    env = {**os.environ, "BIGDATA_PRODUCER_SOURCE": "live", "BIGDATA_PRODUCER_SYMBOLS": "AAPL",
           "BIGDATA_LIVE_TIMEOUT_S": "5", "BIGDATA_KAFKA_BOOTSTRAP": "127.0.0.1:9", "BIGDATA_KAFKA_USER": "producer",
           "BIGDATA_KAFKA_PASSWORD": os.environ["BIGDATA_KAFKA_PRODUCER_PASSWORD"],
           **{name: refuse for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                        "ALL_PROXY", "all_proxy")},
           "NO_PROXY": "", "no_proxy": ""}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "services.producer"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    assert '"event": "source_unavailable"' in done.stdout
    assert "cannot get a quote for AAPL from Yahoo Finance" in done.stdout
