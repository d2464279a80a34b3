"""The tick contract: every kind of malformed record is refused with its reason."""
import json
import math

import pytest

from services.core.tick import REASONS, Rejected, Rules, Tick, encode, validate

NOW = 1_767_225_600_000
RULES = Rules(max_bytes=1024, max_future_ms=300_000, max_past_ms=7 * 86_400_000,
              currencies=frozenset({"USD", "EUR"}))


def tick(**changes):
    value = {"id": "synthetic-run1-1", "symbol": "AAPL", "price": 187.23, "currency": "USD",
             "trade_time": NOW, "volume": 300, "source": "synthetic"}
    value.update(changes)
    return value


def raw(**changes) -> bytes:
    return json.dumps(tick(**changes)).encode()


def without(name) -> bytes:
    value = tick()
    del value[name]
    return json.dumps(value).encode()


def test_a_valid_tick_passes_and_round_trips():
    parsed = validate(raw(), RULES, NOW, key=b"AAPL")
    assert parsed == Tick("synthetic-run1-1", "AAPL", 187.23, "USD", NOW, 300, "synthetic")
    assert str(parsed.day) == "2026-01-01"
    assert validate(parsed.to_json(), RULES, NOW) == parsed
    assert json.loads(parsed.to_json()) == tick()


def test_integer_prices_and_zero_volume_and_extra_fields_are_accepted():
    parsed = validate(json.dumps({**tick(price=100, volume=0), "exchange": "XNAS"}), RULES, NOW)
    assert parsed.price == 100.0 and isinstance(parsed.price, float) and parsed.volume == 0


def test_encode_is_the_json_the_contract_describes():
    text = encode("replay-r-7", "BRK.B", 0.1, "EUR", NOW, 5, "replay")
    assert json.loads(text) == {"id": "replay-r-7", "symbol": "BRK.B", "price": 0.1, "currency": "EUR",
                                "trade_time": NOW, "volume": 5, "source": "replay"}


MALFORMED = {
    "not JSON": (b"{not json", "not_json"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "not_json"),
    "empty value": (b"", "not_json"),
    "no value (tombstone)": (None, "not_json"),
    "a JSON array": (b"[1, 2]", "not_object"),
    "a JSON string": (b'"AAPL"', "not_object"),
    "a JSON number": (b"42", "not_object"),
    "missing id": (without("id"), "missing_field"),
    "missing price": (without("price"), "missing_field"),
    "missing trade_time": (without("trade_time"), "missing_field"),
    "price as a string": (raw(price="187.23"), "wrong_type"),
    "price as a boolean": (raw(price=True), "wrong_type"),
    "trade_time as a float": (raw(trade_time=NOW + 0.5), "wrong_type"),
    "trade_time as an ISO string": (raw(trade_time="2026-01-01T00:00:00Z"), "wrong_type"),
    "volume as a float": (raw(volume=1.5), "wrong_type"),
    "symbol as a number": (raw(symbol=7), "wrong_type"),
    "id null": (raw(id=None), "wrong_type"),
    "empty id": (raw(id=""), "bad_id"),
    "id with a space": (raw(id="a b"), "bad_id"),
    "empty symbol": (raw(symbol=""), "bad_symbol"),
    "overlong symbol": (raw(symbol="A" * 17), "bad_symbol"),
    "lower-case symbol": (raw(symbol="aapl"), "bad_symbol"),
    "symbol with a quote": (raw(symbol='AA"PL'), "bad_symbol"),
    "NaN price": (raw().replace(b"187.23", b"NaN"), "bad_price"),
    "infinite price": (raw().replace(b"187.23", b"Infinity"), "bad_price"),
    "negative infinite price": (raw().replace(b"187.23", b"-Infinity"), "bad_price"),
    "huge integer price": (raw().replace(b"187.23", b"1" + b"0" * 400), "bad_price"),
    "negative price": (raw(price=-1.5), "bad_price"),
    "zero price": (raw(price=0), "bad_price"),
    "absurd price": (raw(price=2e9), "bad_price"),
    "negative volume": (raw(volume=-100), "bad_volume"),
    "volume beyond a bigint": (raw(volume=2**63), "bad_volume"),
    "unknown currency": (raw(currency="XXX"), "unknown_currency"),
    "lower-case currency": (raw(currency="usd"), "unknown_currency"),
    "unknown source": (raw(source="fax"), "unknown_source"),
    "time far in the future": (raw(trade_time=NOW + 3_600_000), "time_in_future"),
    "time far in the past": (raw(trade_time=NOW - 30 * 86_400_000), "time_in_past"),
    "time zero (1970)": (raw(trade_time=0), "time_in_past"),
    "time in seconds, not milliseconds": (raw(trade_time=NOW // 1000), "time_in_past"),
    "oversized": (json.dumps({**tick(), "padding": "x" * 2000}).encode(), "oversized"),
}


@pytest.mark.parametrize("value,reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_records_are_rejected_with_their_reason(value, reason):
    with pytest.raises(Rejected) as caught:
        validate(value, RULES, NOW)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_every_reason_is_known():
    assert {reason for _, reason in MALFORMED.values()} <= set(REASONS)


def test_the_key_must_be_the_symbol():
    with pytest.raises(Rejected) as caught:
        validate(raw(), RULES, NOW, key=b"MSFT")
    assert caught.value.reason == "key_mismatch"
    assert validate(raw(), RULES, NOW, key="AAPL").symbol == "AAPL"


def test_times_are_judged_against_the_records_timestamp_not_the_clock():
    """A consumer that lags a day behind still accepts what was valid when sent."""
    old = NOW - 86_400_000
    assert validate(raw(trade_time=old), RULES, reference_ms=old).trade_time == old
    assert validate(raw(trade_time=NOW + 299_000), RULES, NOW).trade_time == NOW + 299_000


def test_size_limit_is_on_bytes():
    big = Rules(max_bytes=len(raw()), currencies=RULES.currencies)
    assert validate(raw(), big, NOW)
    with pytest.raises(Rejected, match="oversized"):
        validate(raw(), Rules(max_bytes=len(raw()) - 1, currencies=RULES.currencies), NOW)


def test_nan_never_gets_through_even_as_a_float():
    with pytest.raises(Rejected):
        validate(json.dumps(tick(price=math.nan)), RULES, NOW)
