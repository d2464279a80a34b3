"""Dead letters: a record a service refuses goes to `names.DEAD_LETTER_TOPIC` as a
JSON envelope (Kafka key = the original key), with the reason also in headers:

    {"reason": "bad_price", "detail": "price -1.0 is not positive", "service": "storage-writer",
     "topic": "stock-ticks", "partition": 2, "offset": 1234, "timestamp": 1767225600123,
     "key": "AAPL", "original": "{\"id\": ...}", "original_bytes": 151, "dead_lettered_at": 1767225600456}

`original` is the value as text when it is UTF-8; otherwise `original_base64` holds
it. Values larger than ORIGINAL_MAX keep their first ORIGINAL_MAX bytes and say
`"original_truncated": true`.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

ORIGINAL_MAX = 64 * 1024


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None


def envelope(letter: DeadLetter, service: str, now_ms: int | None = None) -> bytes:
    value = letter.value
    body = {
        "reason": letter.reason, "detail": letter.detail, "service": service,
        "topic": letter.topic, "partition": letter.partition, "offset": letter.offset,
        "timestamp": letter.timestamp,
        "key": None if letter.key is None else letter.key.decode("utf-8", "replace"),
        "original_bytes": None if value is None else len(value),
        "dead_lettered_at": now_ms if now_ms is not None else int(time.time() * 1000),
    }
    if value is not None:
        kept = value[:ORIGINAL_MAX]
        if len(value) > ORIGINAL_MAX:
            body["original_truncated"] = True
        try:
            body["original"] = kept.decode("utf-8")
        except UnicodeDecodeError:
            body["original_base64"] = base64.b64encode(kept).decode()
    else:
        body["original"] = None
    return json.dumps(body, separators=(",", ":")).encode()


def headers(letter: DeadLetter, service: str) -> list[tuple[str, bytes]]:
    return [("dlq.reason", letter.reason.encode()), ("dlq.service", service.encode()),
            ("dlq.topic", letter.topic.encode()), ("dlq.partition", str(letter.partition).encode()),
            ("dlq.offset", str(letter.offset).encode())]


def original_of(body: dict) -> bytes | None:
    """The original value back from an envelope (for tools and tests)."""
    if body.get("original_base64") is not None:
        return base64.b64decode(body["original_base64"])
    original = body.get("original")
    return None if original is None else original.encode("utf-8")
