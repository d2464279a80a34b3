"""The analytics record: what the stream processor writes to `names.ANALYTICS_TOPIC`
(JSON, Kafka key = symbol), one per symbol and window, updated while the window
is open (Spark's update mode: a later record for the same window replaces it).

    {"symbol": "AAPL", "window": "1s", "window_start": 1767225600000, "window_end": 1767225601000,
     "open": 187.2, "high": 187.4, "low": 187.1, "close": 187.3, "average": 187.25, "vwap": 187.26,
     "volume": 12400, "count": 31, "last_trade_time": 1767225600987}

- window: the window's length as a label, e.g. "1s", "1m" (digits, then ms/s/m/h)
- window_start, window_end, last_trade_time: UTC epoch milliseconds (integers);
  last_trade_time is the newest trade in the window (the dashboard's latency clock)
- open/high/low/close/average/vwap: finite numbers > 0; volume >= 0; count >= 1
Other fields pass through untouched.

The Redis publisher sends each valid record to `names.ANALYTICS_CHANNEL` and keeps
the newest per symbol and window in the hash `names.LATEST_KEY_PREFIX + symbol`
(field = window label, value = the record's JSON): newest means the greatest
(window_start, count), so a replay after a restart never moves it backwards.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from services.core.tick import SYMBOL_PATTERN, Rejected, parse_object

WINDOW_PATTERN = re.compile(r"^[1-9][0-9]{0,5}(ms|s|m|h)$")
PRICE_FIELDS = ("open", "high", "low", "close", "average", "vwap")
TIME_FIELDS = ("window_start", "window_end", "last_trade_time")
FIELDS = ("symbol", "window", *TIME_FIELDS, *PRICE_FIELDS, "volume", "count")
MAX_BYTES = 4096
UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def window_ms(label: str) -> int:
    """'1s' -> 1000, '1m' -> 60000, '250ms' -> 250."""
    if not WINDOW_PATTERN.match(label):
        raise ValueError(f"not a window label: {label!r}")
    unit = "ms" if label.endswith("ms") else label[-1]
    return int(label[: -len(unit)]) * UNITS_MS[unit]


@dataclass(frozen=True)
class Analytics:
    symbol: str
    window: str
    window_start: int
    count: int
    json: str  # the record as it goes to Redis (compact, validated)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(raw: bytes | str | None, max_bytes: int = MAX_BYTES) -> Analytics:
    value = parse_object(raw, max_bytes)
    missing = [name for name in FIELDS if name not in value]
    if missing:
        raise Rejected("missing_field", f"missing {', '.join(missing)}")
    if not isinstance(value["symbol"], str) or not isinstance(value["window"], str):
        raise Rejected("wrong_type", "symbol and window must be strings")
    for name in (*TIME_FIELDS, "volume", "count"):
        if not _is_int(value[name]):
            raise Rejected("wrong_type", f"{name} must be an integer, got {type(value[name]).__name__}")
    for name in PRICE_FIELDS:
        v = value[name]
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise Rejected("wrong_type", f"{name} must be a number, got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v) or v <= 0:
            raise Rejected("bad_price", f"{name} {v} is not a finite positive number")
    if not SYMBOL_PATTERN.match(value["symbol"]):
        raise Rejected("bad_symbol", f"symbol {value['symbol'][:20]!r}")
    if not WINDOW_PATTERN.match(value["window"]):
        raise Rejected("bad_window", f"window label {value['window'][:12]!r} (e.g. 1s, 1m)")
    if value["window_end"] <= value["window_start"]:
        raise Rejected("bad_window", "window_end is not after window_start")
    if value["count"] < 1:
        raise Rejected("bad_count", f"count {value['count']}: a window without trades")
    if value["volume"] < 0:
        raise Rejected("bad_count", f"volume {value['volume']} is negative")
    return Analytics(value["symbol"], value["window"], value["window_start"], value["count"],
                     json.dumps(value, separators=(",", ":"), allow_nan=False))
