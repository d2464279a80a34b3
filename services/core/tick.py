"""The tick: what the producer sends to `names.TICKS_TOPIC` (JSON, Kafka key = symbol)
and what every consumer checks before it trusts one.

    {"id": "synthetic-3f2a9c1e7b4d-42", "symbol": "AAPL", "price": 187.23, "currency": "USD",
     "trade_time": 1767225600123, "volume": 300, "source": "synthetic"}

- id: assigned by the producer, unique per tick: `<source>-<producer run id>-<sequence>`
  (letters, digits and `._:-`, at most 128 characters). A replayed or duplicated
  tick keeps its id, so it is recognisable and its Cassandra row is the same.
- symbol: 1..16 characters, upper-case letters, digits and `.-^=` (e.g. BRK.B, ^GSPC)
- price: a finite number > 0 (and below MAX_PRICE); currency: ISO 4217, from the allowed set
- trade_time: UTC epoch milliseconds (an integer); volume: an integer >= 0
- source: "synthetic", "replay" or "live". Other fields are ignored.

`validate()` raises `Rejected(reason, detail)`; `reason` is one of REASONS, the
word the dead-letter topic and the counters use.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

SOURCES = ("synthetic", "replay", "live")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,15}$")
SYMBOL_MAX = 16
ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_PRICE = 1e9
MAX_VOLUME = 2**63 - 1
FIELDS = ("id", "symbol", "price", "currency", "trade_time", "volume", "source")

# Why a record was refused (the dead-letter envelope's "reason" and the counters' keys)
REASONS = (
    "oversized",         # more bytes than BIGDATA_TICK_MAX_BYTES
    "not_json",          # not UTF-8 JSON
    "not_object",        # JSON, but not an object
    "missing_field",     # a required field is absent
    "wrong_type",        # a field of the wrong JSON type
    "bad_id",            # empty, overlong or odd characters
    "bad_symbol",        # empty, overlong or odd characters
    "bad_price",         # NaN, infinite, zero, negative or absurd
    "bad_volume",        # negative, or larger than a bigint
    "unknown_currency",  # not in the allowed set
    "unknown_source",    # not synthetic, replay or live
    "time_in_future",    # trade time too far after the record's timestamp
    "time_in_past",      # trade time too far before it
    "key_mismatch",      # the Kafka key is not the tick's symbol
    "duplicate",         # an id seen before at another position of the log
    "rejected_by_store", # valid by the contract, refused by Cassandra as an invalid request
    # analytics records (services/core/analytics.py)
    "bad_window",        # window label or bounds that make no sense
    "bad_count",         # a window with no trade
)


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Tick:
    id: str
    symbol: str
    price: float
    currency: str
    trade_time: int  # UTC epoch milliseconds
    volume: int
    source: str

    @property
    def day(self) -> date:
        """The UTC day of the trade (the Cassandra partition's second half)."""
        return datetime.fromtimestamp(self.trade_time / 1000, tz=timezone.utc).date()

    def to_json(self) -> str:
        return encode(self.id, self.symbol, self.price, self.currency, self.trade_time, self.volume, self.source)


def encode(tick_id: str, symbol: str, price: float, currency: str, trade_time: int, volume: int,
           source: str) -> str:
    """The tick's JSON, written directly (the producer's hot path). Only for values
    that are valid already: ids, symbols, currencies and sources need no escaping."""
    return (f'{{"id":"{tick_id}","symbol":"{symbol}","price":{price!r},"currency":"{currency}",'
            f'"trade_time":{trade_time},"volume":{volume},"source":"{source}"}}')


@dataclass(frozen=True)
class Rules:
    """The limits a tick is checked against (from Settings)."""
    max_bytes: int = 1024
    max_future_ms: int = 300_000
    max_past_ms: int = 7 * 86_400_000
    currencies: frozenset = frozenset({"USD", "EUR", "GBP", "JPY"})

    @classmethod
    def from_settings(cls, settings) -> "Rules":
        return cls(max_bytes=settings.tick_max_bytes, max_future_ms=settings.tick_max_future_s * 1000,
                   max_past_ms=settings.tick_max_past_s * 1000, currencies=frozenset(settings.tick_currencies))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_object(raw: bytes | str | None, max_bytes: int) -> dict:
    """The raw value as a JSON object, or Rejected (oversized, not_json, not_object)."""
    if raw is None:
        raise Rejected("not_json", "empty record (no value)")
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise Rejected("oversized", f"{len(data)} bytes, at most {max_bytes}")
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise Rejected("not_json", str(error)[:200]) from None
    if not isinstance(value, dict):
        raise Rejected("not_object", f"a JSON {type(value).__name__}, not an object")
    return value


def validate(raw: bytes | str | None, rules: Rules, reference_ms: int, key: bytes | str | None = None) -> Tick:
    """Check one record against the contract. `reference_ms` is when it was produced
    (the Kafka record's timestamp): trade times are judged against it, so a consumer
    that lags behind does not reject what was valid when it was sent."""
    value = parse_object(raw, rules.max_bytes)
    missing = [name for name in FIELDS if name not in value]
    if missing:
        raise Rejected("missing_field", f"missing {', '.join(missing)}")

    tick_id, symbol, price = value["id"], value["symbol"], value["price"]
    currency, trade_time, volume, source = value["currency"], value["trade_time"], value["volume"], value["source"]
    for name, ok, wanted in (("id", isinstance(tick_id, str), "a string"),
                             ("symbol", isinstance(symbol, str), "a string"),
                             ("price", _is_number(price), "a number"),
                             ("currency", isinstance(currency, str), "a string"),
                             ("trade_time", _is_int(trade_time), "an integer (epoch milliseconds)"),
                             ("volume", _is_int(volume), "an integer"),
                             ("source", isinstance(source, str), "a string")):
        if not ok:
            raise Rejected("wrong_type", f"{name} must be {wanted}, got {type(value[name]).__name__}")

    if not ID_PATTERN.match(tick_id):
        raise Rejected("bad_id", f"id {tick_id[:40]!r}: 1..128 of letters, digits and ._:-")
    if not symbol:
        raise Rejected("bad_symbol", "empty symbol")
    if len(symbol) > SYMBOL_MAX:
        raise Rejected("bad_symbol", f"symbol of {len(symbol)} characters, at most {SYMBOL_MAX}")
    if not SYMBOL_PATTERN.match(symbol):
        raise Rejected("bad_symbol", f"symbol {symbol!r}: upper-case letters, digits and .-^=")
    try:
        price = float(price)
    except OverflowError:
        raise Rejected("bad_price", "price is absurd (does not fit a double)") from None
    if math.isnan(price) or math.isinf(price):
        raise Rejected("bad_price", f"price {price} is not finite")
    if price <= 0:
        raise Rejected("bad_price", f"price {price} is not positive")
    if price >= MAX_PRICE:
        raise Rejected("bad_price", f"price {price} is absurd (at least {MAX_PRICE:g})")
    if volume < 0:
        raise Rejected("bad_volume", f"volume {volume} is negative")
    if volume > MAX_VOLUME:
        raise Rejected("bad_volume", f"volume {volume} does not fit a bigint")
    if currency not in rules.currencies:
        raise Rejected("unknown_currency", f"currency {currency[:12]!r} is not one of the accepted codes")
    if source not in SOURCES:
        raise Rejected("unknown_source", f"source {source[:20]!r} is not one of {', '.join(SOURCES)}")
    if trade_time > reference_ms + rules.max_future_ms:
        raise Rejected("time_in_future", f"trade_time {trade_time} is {(trade_time - reference_ms) / 1000:.0f} s "
                                         f"after the record's timestamp {reference_ms}")
    if trade_time < reference_ms - rules.max_past_ms:
        raise Rejected("time_in_past", f"trade_time {trade_time} is {(reference_ms - trade_time) / 1000:.0f} s "
                                       f"before the record's timestamp {reference_ms}")
    if key is not None:
        key_text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if key_text != symbol:
            raise Rejected("key_mismatch", f"key {key_text[:20]!r} is not the symbol {symbol!r}")
    return Tick(tick_id, symbol, price, currency, trade_time, volume, source)


def valid_symbol(symbol: str) -> bool:
    return bool(SYMBOL_PATTERN.match(symbol))
