"""A symbol's recent history as 1-minute candles, from Cassandra's `stocks.ticks`
(partitioned by (symbol, UTC day), newest trade first): one bounded query per day
the period touches, aggregated here, so a page gets a few hundred candles rather
than every tick."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from shared import names

MINUTE_MS = 60_000


def days_between(since_ms: int, until_ms: int) -> list:
    """The UTC dates from `until` back to `since`, newest first (the order we read in)."""
    first = datetime.fromtimestamp(since_ms / 1000, tz=timezone.utc).date()
    day = datetime.fromtimestamp(until_ms / 1000, tz=timezone.utc).date()
    days = []
    while day >= first:
        days.append(day)
        day -= timedelta(days=1)
    return days


def candles(ticks) -> list[dict]:
    """(trade_time ms, price, volume) in any order -> one candle per minute, oldest first:
    time (the minute's start, epoch seconds as charts want it), open, high, low, close,
    average (mean trade price), vwap (the average when every trade had volume 0, as the
    stream processor does), volume, count. Equal trade times keep their given order (from
    Cassandra: tick id order, the table's clustering order; the log order that the stream
    processor uses for them is not stored)."""
    minutes: dict[int, list] = {}
    for trade_time, price, volume in sorted(ticks, key=lambda t: t[0]):
        minutes.setdefault(trade_time // MINUTE_MS, []).append((price, volume))
    out = []
    for minute, trades in sorted(minutes.items()):
        prices = [p for p, _ in trades]
        volume = sum(v for _, v in trades)
        average = sum(prices) / len(prices)
        out.append({"time": minute * 60, "open": prices[0], "high": max(prices), "low": min(prices),
                    "close": prices[-1], "average": average,
                    "vwap": sum(p * v for p, v in trades) / volume if volume else average,
                    "volume": volume, "count": len(trades)})
    return out


class History:
    def __init__(self, session, minutes: int, max_ticks: int):
        self.session = session
        self.minutes = minutes
        self.max_ticks = max_ticks
        # toUnixTimestamp: epoch ms as a bigint, cheaper than the driver's datetimes
        self.query = session.prepare(
            f"SELECT toUnixTimestamp(trade_time), price, volume FROM {names.KEYSPACE}.{names.TICKS_TABLE} "
            f"WHERE symbol = ? AND day = ? AND trade_time >= ? LIMIT ?")
        self.query.fetch_size = 5000

    def ticks(self, symbol: str, now_ms: int | None = None) -> list[tuple]:
        """The symbol's newest ticks of the period, at most max_ticks."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        since_ms = (now_ms - self.minutes * MINUTE_MS) // MINUTE_MS * MINUTE_MS  # whole minutes only
        since = datetime.fromtimestamp(since_ms / 1000, tz=timezone.utc)
        found: list[tuple] = []
        for day in days_between(since_ms, now_ms):
            left = self.max_ticks - len(found)
            if left <= 0:
                break
            found.extend(tuple(row) for row in self.session.execute(self.query, (symbol, day, since, left)))
        return found

    def candles(self, symbol: str, now_ms: int | None = None) -> list[dict]:
        ticks = self.ticks(symbol, now_ms)
        if len(ticks) >= self.max_ticks:  # the oldest minute read may lack its earlier ticks: drop it
            oldest = min(t[0] for t in ticks) // MINUTE_MS
            ticks = [t for t in ticks if t[0] // MINUTE_MS != oldest]
        return candles(ticks)
