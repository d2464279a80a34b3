"""The analytics record the publisher accepts."""
import json

import pytest

from services.core.analytics import validate
from services.core.tick import Rejected


def record(**changes):
    value = {"symbol": "AAPL", "window": "1s", "window_start": 1000, "window_end": 2000, "open": 1.0,
             "high": 2.0, "low": 0.5, "close": 1.5, "average": 1.2, "vwap": 1.3, "volume": 10, "count": 3,
             "last_trade_time": 1999}
    value.update(changes)
    return json.dumps(value)


def test_a_valid_record_passes_with_its_ordering_fields():
    parsed = validate(record(extra="kept"))
    assert (parsed.symbol, parsed.window, parsed.window_start, parsed.count) == ("AAPL", "1s", 1000, 3)
    assert json.loads(parsed.json)["extra"] == "kept"


BAD = {
    "not JSON": ("{", "not_json"),
    "an array": ("[]", "not_object"),
    "missing vwap": (json.dumps({k: v for k, v in json.loads(record()).items() if k != "vwap"}), "missing_field"),
    "window_start as a string": (record(window_start="1000"), "wrong_type"),
    "price as a string": (record(close="1.5"), "wrong_type"),
    "NaN price": (record().replace('"vwap": 1.3', '"vwap": NaN'), "bad_price"),
    "zero price": (record(low=0), "bad_price"),
    "bad symbol": (record(symbol="a a"), "bad_symbol"),
    "bad window label": (record(window="soon"), "bad_window"),
    "empty window": (record(window_end=1000), "bad_window"),
    "no trades": (record(count=0), "bad_count"),
    "oversized": (record(padding="x" * 5000), "oversized"),
}


@pytest.mark.parametrize("value,reason", BAD.values(), ids=BAD.keys())
def test_bad_records_are_rejected(value, reason):
    with pytest.raises(Rejected) as caught:
        validate(value)
    assert caught.value.reason == reason
