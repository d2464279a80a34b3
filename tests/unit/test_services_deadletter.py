"""Dead-letter envelopes keep the reason, the origin and the original bytes."""
import json

from services.core.deadletter import ORIGINAL_MAX, DeadLetter, envelope, headers, original_of


def letter(value, key=b"AAPL"):
    return DeadLetter("bad_price", "price -1 is not positive", "stock-ticks", 2, 41, 1000, key, value)


def test_text_originals_are_kept_as_text():
    body = json.loads(envelope(letter(b'{"price": -1}'), "storage-writer", now_ms=5))
    assert body == {"reason": "bad_price", "detail": "price -1 is not positive", "service": "storage-writer",
                    "topic": "stock-ticks", "partition": 2, "offset": 41, "timestamp": 1000, "key": "AAPL",
                    "original_bytes": 13, "dead_lettered_at": 5, "original": '{"price": -1}'}
    assert original_of(body) == b'{"price": -1}'


def test_binary_originals_are_kept_as_base64():
    raw = b"\xff\x00\xfe binary"
    body = json.loads(envelope(letter(raw, key=None), "w"))
    assert "original" not in body and original_of(body) == raw and body["key"] is None


def test_missing_values_and_huge_values():
    assert json.loads(envelope(letter(None), "w"))["original"] is None
    body = json.loads(envelope(letter(b"x" * (ORIGINAL_MAX + 10)), "w"))
    assert body["original_truncated"] is True and body["original_bytes"] == ORIGINAL_MAX + 10
    assert len(body["original"]) == ORIGINAL_MAX


def test_headers_carry_the_reason():
    assert dict(headers(letter(b"x"), "w"))["dlq.reason"] == b"bad_price"
