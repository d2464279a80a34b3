"""The Redis publisher against the real Kafka and Redis: analytics records reach
the pub/sub channel and the latest-value hash, malformed ones the dead-letter
topic; after kill -9 and a restart it resumes where it stopped; SIGTERM exits 0."""
import json
import threading
import time

import pytest

from servicekit import unique_group, unique_symbols, wait_until
from shared import names
from shared.names import ANALYTICS_CHANNEL, ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, LATEST_KEY_PREFIX

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

PUBLISHER = "services.redis_publisher"
BASE = 1_767_225_600_000


def analytics(symbol, start, window="1s", count=5, close=100.0) -> dict:
    length = {"1s": 1000, "1m": 60000}[window]
    return {"symbol": symbol, "window": window, "window_start": start, "window_end": start + length,
            "open": 99.5, "high": 101.0, "low": 99.0, "close": close, "average": 100.1, "vwap": 100.2,
            "volume": 700, "count": count, "last_trade_time": start + length - 1}


def record(value: dict):
    return value["symbol"].encode(), json.dumps(value).encode()


class Listener:
    """Everything published on the channel while it listens (a real subscriber)."""

    def __init__(self, redis):
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(ANALYTICS_CHANNEL)
        wait_until(lambda: self.pubsub.get_message(timeout=0.5) is None and self.pubsub.subscribed, 10,
                   "subscribed")
        self.messages: list[dict] = []

    def collect(self, until, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not until(self.messages) and time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                self.messages.append(json.loads(message["data"]))
        return self.messages

    def close(self):
        self.pubsub.close()


def test_analytics_reach_the_channel_and_the_latest_hash(services, kafka, redis):
    group = unique_group(names.PUBLISHER_GROUP)
    kafka.start_group_at_end(group, ANALYTICS_TOPIC)
    dlq_since = kafka.end_offsets(DEAD_LETTER_TOPIC)
    symbol = unique_symbols()[0]
    listener = Listener(redis)
    publisher = services(PUBLISHER, BIGDATA_PUBLISHER_GROUP=group)
    publisher.wait_running()

    seconds = [analytics(symbol, BASE + n * 1000, count=n + 1, close=100 + n) for n in range(10)]
    minute = analytics(symbol, BASE, window="1m", count=40)
    stale = analytics(symbol, BASE + 3000, count=1)  # an older update, e.g. replayed after a restart
    valid = seconds + [minute, stale]
    records = [record(v) for v in valid]
    bad = [(symbol.encode(), b"not json at all"), record({**analytics(symbol, BASE), "window": "soon"})]
    positions = kafka.send(ANALYTICS_TOPIC, records + bad)

    mine = lambda ms: [m for m in ms if m.get("symbol") == symbol]  # noqa: E731
    got = mine(listener.collect(lambda ms: len(mine(ms)) >= len(valid), 30))
    listener.close()
    assert got == valid, "every valid record, in order, on the channel"

    latest = redis.hgetall(LATEST_KEY_PREFIX + symbol)
    assert set(latest) == {"1s", "1m"}
    assert json.loads(latest["1s"]) == seconds[-1], "the newest window, not the stale update"
    assert json.loads(latest["1m"]) == minute

    wanted = {positions[len(records)]: "not_json", positions[len(records) + 1]: "bad_window"}
    found = {}
    deadline = time.monotonic() + 30
    while len(found) < 2 and time.monotonic() < deadline:
        for letter in kafka.read_json(DEAD_LETTER_TOPIC, dlq_since):
            where = (letter["partition"], letter["offset"])
            if letter["topic"] == ANALYTICS_TOPIC and where in wanted:
                found[where] = letter["reason"]
        time.sleep(0.5)
    assert found == wanted
    counters = publisher.health()["counters"]
    assert counters["published"] == len(valid) and counters["dead_lettered"] == 2
    assert counters["rejected.not_json"] == 1 and counters["rejected.bad_window"] == 1
    assert publisher.terminate() == 0, publisher.tail()


def test_publisher_resumes_after_kill_9(services, kafka, redis):
    group = unique_group(names.PUBLISHER_GROUP)
    kafka.start_group_at_end(group, ANALYTICS_TOPIC)
    symbols = unique_symbols(2)
    total = 1200  # per symbol
    listener = Listener(redis)
    publisher = services(PUBLISHER, BIGDATA_PUBLISHER_GROUP=group, BIGDATA_PUBLISHER_BATCH=50)
    publisher.wait_running()

    def stream():  # ~600 records/s for about 4 s
        for n in range(0, total, 25):
            kafka.send(ANALYTICS_TOPIC, [record(analytics(s, BASE + k * 1000, count=k + 1))
                                         for k in range(n, n + 25) for s in symbols])
            time.sleep(0.08)

    sender = threading.Thread(target=stream)
    sender.start()
    at_kill = publisher.wait_for(lambda h: h["counters"].get("published", 0) >= 300, 30, "300 published")
    publisher.kill9()
    time.sleep(1)
    restarted = services(PUBLISHER, BIGDATA_PUBLISHER_GROUP=group, BIGDATA_PUBLISHER_BATCH=50)
    sender.join(60)
    assert at_kill["counters"]["published"] < 2 * total, "the kill came too late to be mid-stream"

    def complete(messages):
        return len({(m["symbol"], m["window_start"]) for m in messages if m.get("symbol") in symbols}) \
            == 2 * total
    seen = listener.collect(complete, 60)
    listener.close()
    assert complete(seen), "every window reached the channel"
    for symbol in symbols:
        latest = json.loads(redis.hget(LATEST_KEY_PREFIX + symbol, "1s"))
        assert latest == analytics(symbol, BASE + (total - 1) * 1000, count=total)
    ends = kafka.end_offsets(ANALYTICS_TOPIC)
    wait_until(lambda: all(kafka.committed(group, ANALYTICS_TOPIC).get(p, -1) >= o for p, o in ends.items()),
               30, "all committed")
    print(f"killed with {at_kill['counters']['published']} published; the restarted publisher published "
          f"{restarted.health()['counters']['published']} (of {2 * total})")
    assert restarted.terminate() == 0, restarted.tail()
