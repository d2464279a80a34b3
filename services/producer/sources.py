"""Where the producer's prices come from. A source keeps the set of symbols it
serves (changed at run time over HTTP) and, asked `due(now)`, returns the quotes
that are due: (symbol, price, volume, trade_time_ms) tuples.

- synthetic (default): a seeded random walk per symbol in whole cents, volumes in
  round lots with a heavy tail and some odd lots, at BIGDATA_PRODUCER_RATE ticks/s
  over all symbols (0: as fast as the producer can send).
- replay: bokeh-sampledata's daily OHLCV (AAPL, FB, GOOG, IBM, MSFT; 2000-2013,
  unadjusted), BIGDATA_REPLAY_SPEED trading days per second per symbol, four ticks
  a day (open, the day's high and low in a plausible order, close) each carrying a
  quarter of the day's volume. Trade times are the replay's own clock (now), so the
  ticks flow through windows and dashboards like live ones; their source says replay.
- live: Yahoo Finance through yfinance, one quote per symbol every
  BIGDATA_LIVE_INTERVAL_S. Off by default; without network it fails at start with
  SourceUnavailable, which the producer reports and exits 3 on.
"""
from __future__ import annotations

import concurrent.futures
import csv
import gzip
import math
import threading
import time
import zlib

from services.core.tick import valid_symbol
from services.producer import reference_prices

Quote = tuple  # (symbol, price, volume, trade_time_ms)


class SourceUnavailable(RuntimeError):
    """The source cannot produce at all (e.g. no network for the live feed)."""


class UnknownSymbol(ValueError):
    """The source has nothing for this symbol (e.g. no history to replay)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Source:
    name = "source"

    def __init__(self, symbols):
        self._lock = threading.Lock()
        self._symbols: dict[str, object] = {}
        for symbol in symbols:
            self.add(symbol)

    def symbols(self) -> list[str]:
        with self._lock:
            return sorted(self._symbols)

    def add(self, symbol: str) -> bool:
        """True when added, False when already there; UnknownSymbol/ValueError otherwise."""
        if not valid_symbol(symbol):
            raise ValueError(f"not a symbol: {symbol[:20]!r} (1..16 of A-Z, 0-9 and .-^=)")
        with self._lock:
            if symbol in self._symbols:
                return False
            self._symbols[symbol] = self._state(symbol)
            return True

    def remove(self, symbol: str) -> bool:
        with self._lock:
            return self._symbols.pop(symbol, None) is not None

    def _state(self, symbol: str):
        return None

    def due(self, now: float) -> list[Quote]:
        raise NotImplementedError

    def idle_wait(self) -> float:
        """How long to sleep when nothing was due."""
        return 0.005

    @property
    def exhausted(self) -> bool:
        return False


# --- synthetic ---------------------------------------------------------------------

class Walk:
    """One symbol's seeded random walk, in whole cents. Steps are drawn a block at a
    time (numpy) and handed out one by one: generating a tick costs far less than
    sending it, whatever the mix of symbols."""
    BLOCK = 1024

    def __init__(self, seed: int, symbol: str):
        import numpy
        # a stable seed per symbol (zlib.crc32, unlike hash(), does not change between runs)
        self.rng = numpy.random.default_rng([seed, zlib.crc32(symbol.encode())])
        reference = reference_prices.USD.get(symbol)
        if reference:  # within 2% of the symbol's real level
            self.cents = int(reference * 100 * math.exp(self.rng.uniform(-0.02, 0.02)))
        else:
            self.cents = int(math.exp(self.rng.uniform(math.log(1000), math.log(50000))))  # $10 .. $500
        self.sigma = 0.0003  # per tick, relative to the price
        self.prices: list[float] = []
        self.volumes: list[int] = []
        self.next = 0

    def _refill(self) -> None:
        import numpy
        rng, count = self.rng, self.BLOCK
        moves = numpy.rint(rng.normal(0.0, max(1.0, self.sigma * self.cents), count)).astype(numpy.int64)
        path = numpy.maximum(self.cents + numpy.cumsum(moves), 1)
        self.cents = int(path[-1])
        lots = numpy.minimum(100, numpy.floor(rng.pareto(1.3, count) + 1.0)).astype(numpy.int64) * 100
        odd = rng.random(count) < 0.15  # odd lots
        self.prices = (path / 100).tolist()
        self.volumes = numpy.where(odd, rng.integers(1, 100, count), lots).tolist()
        self.next = 0

    def step(self) -> tuple[float, int]:
        if self.next >= len(self.prices):
            self._refill()
        i = self.next
        self.next = i + 1
        return self.prices[i], self.volumes[i]


class SyntheticSource(Source):
    name = "synthetic"
    CHUNK = 5000

    def __init__(self, symbols, rate: float, seed: int):
        import numpy
        self.seed = seed
        self.rate = rate
        self.pick = numpy.random.default_rng(seed)
        self.started: float | None = None
        self.emitted = 0
        super().__init__(symbols)

    def _state(self, symbol):
        return Walk(self.seed, symbol)

    def due(self, now: float) -> list[Quote]:
        with self._lock:
            walks = list(self._symbols.items())
        if not walks:
            self.started = None
            return []
        if self.rate <= 0:
            count = self.CHUNK
        else:
            if self.started is None:
                self.started, self.emitted = now, 0
            target = int((now - self.started) * self.rate)
            if target - self.emitted > self.rate * 2:  # far behind (a pause): do not burst to catch up
                self.started, self.emitted = now, 0
                target = 0
            count = min(target - self.emitted, self.CHUNK)
            if count <= 0:
                return []
            self.emitted += count
        stamp = now_ms()
        quotes = []
        append = quotes.append
        for index in self.pick.integers(0, len(walks), count).tolist():  # each tick's symbol, uniformly
            symbol, walk = walks[index]
            price, volume = walk.step()
            append((symbol, price, volume, stamp))
        return quotes

    def idle_wait(self) -> float:
        """Ticks are sent in groups at most every 5 ms: waking for each one (1 ms at
        1,000/s) cost the producer a third of a core; trade times are stamped when due."""
        if self.rate <= 0:
            return 0.0
        return min(0.05, max(0.005, 1.0 / self.rate))


# --- replay ------------------------------------------------------------------------

def load_history() -> dict[str, list[tuple]]:
    """Daily (date, open, high, low, close, volume) per ticker, from bokeh-sampledata's CSV."""
    from bokeh_sampledata import package_path
    history: dict[str, list[tuple]] = {}
    with gzip.open(package_path("stocks.csv.gz"), "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for ticker, day, o, h, low, c, volume, _adj in reader:
            history.setdefault(ticker, []).append((day, float(o), float(h), float(low), float(c), int(volume)))
    for rows in history.values():
        rows.sort()
    return history


class Cursor:
    __slots__ = ("index", "step", "next_at")

    def __init__(self, next_at: float):
        self.index, self.step, self.next_at = 0, 0, next_at


class ReplaySource(Source):
    name = "replay"

    def __init__(self, symbols, speed: float, loop: bool, history: dict | None = None):
        self.history = history if history is not None else load_history()
        self.interval = 1.0 / (speed * 4)  # four ticks per trading day
        self.loop = loop
        self.finished: set[str] = set()
        wanted = list(symbols)
        usable = [s for s in wanted if s in self.history]
        self.skipped = [s for s in wanted if s not in self.history]
        super().__init__(usable)

    def add(self, symbol: str) -> bool:
        if valid_symbol(symbol) and symbol not in self.history:
            raise UnknownSymbol(f"no history for {symbol} in bokeh-sampledata "
                                f"(it has {', '.join(sorted(self.history))})")
        added = super().add(symbol)
        self.finished.discard(symbol)
        return added

    def _state(self, symbol):
        return Cursor(time.monotonic())

    def due(self, now: float) -> list[Quote]:
        with self._lock:
            cursors = list(self._symbols.items())
        quotes, stamp = [], now_ms()
        for symbol, cursor in cursors:
            rows = self.history[symbol]
            emitted = 0
            while cursor.next_at <= now and emitted < 1000:
                if cursor.index >= len(rows):
                    if not self.loop:
                        self.remove(symbol)
                        self.finished.add(symbol)
                        break
                    cursor.index = 0
                _day, o, h, low, c, volume = rows[cursor.index]
                path = (o, low, h, c) if c >= o else (o, h, low, c)  # up days dip first, down days peak first
                part = volume // 4 + (volume % 4 if cursor.step == 3 else 0)
                quotes.append((symbol, round(path[cursor.step], 4), part, stamp))
                emitted += 1
                cursor.step += 1
                if cursor.step == 4:
                    cursor.step, cursor.index = 0, cursor.index + 1
                cursor.next_at += self.interval
            if now - cursor.next_at > 2.0:  # paused for long: do not burst through the backlog
                cursor.next_at = now
        return quotes

    def idle_wait(self) -> float:
        return min(0.05, self.interval)

    @property
    def exhausted(self) -> bool:
        return not self.loop and not self.symbols() and bool(self.finished)


# --- live --------------------------------------------------------------------------

class LiveSource(Source):
    """Yahoo Finance through yfinance: the last one-minute bar's close and volume."""
    name = "live"

    def __init__(self, symbols, interval: float, timeout: float):
        self.interval = interval
        self.timeout = timeout
        self.next_at = 0.0
        self.failures = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="yfinance")
        super().__init__(symbols)
        probe = (self.symbols() or ["AAPL"])[0]
        try:
            self.quote(probe)
        except Exception as error:
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise SourceUnavailable(f"live source: cannot get a quote for {probe} from Yahoo Finance "
                                    f"({error}); it needs network access to Yahoo (timeout {timeout:g}s). "
                                    f"Offline, use BIGDATA_PRODUCER_SOURCE=synthetic or replay") from None

    def _fetch(self, symbol: str):
        import yfinance
        bars = yfinance.Ticker(symbol).history(period="1d", interval="1m", timeout=self.timeout,
                                               raise_errors=True)
        if bars is None or bars.empty:
            raise RuntimeError(f"Yahoo Finance returned no data for {symbol}")
        last = bars.iloc[-1]
        return float(last["Close"]), int(last["Volume"])

    def quote(self, symbol: str) -> Quote:
        future = self.pool.submit(self._fetch, symbol)
        try:
            price, volume = future.result(timeout=self.timeout + 2)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {self.timeout:g}s") from None
        return symbol, price, volume, now_ms()

    def due(self, now: float) -> list[Quote]:
        if now < self.next_at:
            return []
        self.next_at = now + self.interval
        quotes = []
        for symbol in self.symbols():
            try:
                quotes.append(self.quote(symbol))
                self.failures = 0
            except Exception as error:
                self.failures += 1
                self.last_error = f"{symbol}: {error}"
        return quotes

    def idle_wait(self) -> float:
        return 0.2


def make_source(settings) -> Source:
    symbols = [s.strip().upper() for s in settings.producer_symbols]
    if settings.producer_source == "synthetic":
        return SyntheticSource(symbols, settings.producer_rate, settings.producer_seed)
    if settings.producer_source == "replay":
        return ReplaySource(symbols, settings.replay_speed, settings.replay_loop)
    if settings.producer_source == "live":
        return LiveSource(symbols, settings.live_interval_s, settings.live_timeout_s)
    raise ValueError(f"unknown source {settings.producer_source!r}")
