"""The open windows of the live lane: per symbol and window length, the candles that
ticks are still arriving for, updated tick by tick (no Kafka, no Redis here).

The values are Spark's (services/stream_processor/job.py), computed the same way:
open and close by (trade time, log offset), high, low, average, VWAP (the average
when the window's volume is 0), volume, count, the newest trade time. A window is
dropped once the newest trade time seen passes its end by the watermark; a tick for
a window older than that is late (counted, not applied), as in Spark.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from services.core.analytics import Analytics, window_ms


@dataclass(slots=True)
class Candle:
    open_at: tuple
    open: float
    close_at: tuple
    close: float
    high: float
    low: float
    price_sum: float = 0.0
    turnover: float = 0.0
    volume: int = 0
    count: int = 0
    last_trade_time: int = 0


@dataclass
class OpenWindows:
    labels: tuple
    watermark_ms: int
    lengths: list = field(init=False)
    candles: dict = field(default_factory=dict)   # (symbol, label, window_start) -> Candle
    changed: set = field(default_factory=set)     # keys of candles changed since the last take_changed()
    newest: int = 0                               # the newest trade time seen
    late: int = 0

    def __post_init__(self):
        self.lengths = [(label, window_ms(label)) for label in self.labels]

    def add(self, symbol: str, price: float, volume: int, trade_time: int, offset: int,
            not_before: int = 0) -> None:
        """One tick; `not_before`: windows starting earlier are ignored (a rebuild from the
        log starts there, so they would be incomplete)."""
        if trade_time > self.newest:
            self.newest = trade_time
        horizon = self.newest - self.watermark_ms
        at = (trade_time, offset)
        for label, length in self.lengths:
            start = trade_time - trade_time % length
            if start + length <= horizon:
                self.late += 1
                continue
            if start < not_before:
                continue
            key = (symbol, label, start)
            candle = self.candles.get(key)
            if candle is None:
                candle = self.candles[key] = Candle(at, price, at, price, price, price)
            else:
                if at < candle.open_at:
                    candle.open_at, candle.open = at, price
                if at >= candle.close_at:
                    candle.close_at, candle.close = at, price
                if price > candle.high:
                    candle.high = price
                if price < candle.low:
                    candle.low = price
            candle.price_sum += price
            candle.turnover += price * volume
            candle.volume += volume
            candle.count += 1
            if trade_time > candle.last_trade_time:
                candle.last_trade_time = trade_time
            self.changed.add(key)

    def take_changed(self, published_at: int | None = None) -> list[Analytics]:
        """The changed candles as provisional analytics records (each window once)."""
        published_at = int(time.time() * 1000) if published_at is None else published_at
        records = []
        for key in self.changed:
            candle = self.candles.get(key)
            if candle is not None:
                records.append(record(key, candle, published_at))
        self.changed.clear()
        return records

    def expire(self) -> int:
        """Drops the windows the watermark has passed; returns how many."""
        horizon = self.newest - self.watermark_ms
        lengths = dict(self.lengths)
        gone = [key for key in self.candles if key[2] + lengths[key[1]] <= horizon]
        for key in gone:
            del self.candles[key]
            self.changed.discard(key)
        return len(gone)

    def forget(self, symbols: set) -> None:
        """Drops every window of these symbols (their partitions went to another consumer)."""
        for key in [key for key in self.candles if key[0] in symbols]:
            del self.candles[key]
            self.changed.discard(key)


def record(key: tuple, candle: Candle, published_at: int) -> Analytics:
    symbol, label, start = key
    average = candle.price_sum / candle.count
    value = {"symbol": symbol, "window": label, "window_start": start, "window_end": start + window_ms(label),
             "open": candle.open, "high": candle.high, "low": candle.low, "close": candle.close,
             "average": average, "vwap": candle.turnover / candle.volume if candle.volume > 0 else average,
             "volume": candle.volume, "count": candle.count, "last_trade_time": candle.last_trade_time,
             "provisional": True, "published_at": published_at}
    return Analytics(symbol, label, start, candle.count, json.dumps(value, separators=(",", ":")))
