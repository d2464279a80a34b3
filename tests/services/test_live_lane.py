"""The live lane against the real Kafka and Redis: the open windows it publishes equal
an independent calculation, marked provisional, conflated, on its own channel and keys
only; a refused tick is counted and left to the storage writer's dead letters; after
kill -9 the restarted lane rebuilds the windows from the log and loses nothing."""
import json
import time

import pytest

from servicekit import Sent, expected_windows, latest, same, tick_value, unique_group, unique_symbols, wait_until
from shared import names
from shared.names import (DEAD_LETTER_TOPIC, LATEST_KEY_PREFIX, LIVE_CHANNEL, LIVE_KEY_PREFIX,
                                 TICKS_TOPIC)

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

LANE = "services.live_lane"


class Listener:
    """Everything published on the live channel while it listens (a real subscriber)."""

    def __init__(self, redis):
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(LIVE_CHANNEL)
        wait_until(lambda: self.pubsub.get_message(timeout=0.5) is None and self.pubsub.subscribed, 10,
                   "subscribed")
        self.messages: list[dict] = []

    def drain(self) -> list[dict]:
        while (message := self.pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                self.messages.append(json.loads(message["data"]))
        return self.messages

    def close(self):
        self.pubsub.close()


def send_ticks(kafka, symbols, count: int, first: int = 0, spread_ms: int = 3000) -> list[Sent]:
    """`count` ticks over the symbols, trade times over the last `spread_ms`, prices and
    volumes varied (volume 0 too), some ties in trade time."""
    now = int(time.time() * 1000)
    values = []
    for n in range(first, first + count):
        symbol = symbols[n % len(symbols)]
        trade_time = now - spread_ms + (n * 7919) % spread_ms
        values.append((symbol, f"synthetic-live-{symbol}-{n}", round(100 + (n * 37 % 200) / 100, 2), trade_time,
                       (n % 4) * 100))
    positions = kafka.send(TICKS_TOPIC, [(s.encode(), tick_value(s, i, p, t, v)) for s, i, p, t, v in values])
    return [Sent(s, t, p, v, position) for (s, _, p, t, v), position in zip(values, positions)]


def newest_per_window(expected: dict) -> dict:
    """What the live hash holds: per (symbol, window label) the newest window's record."""
    newest = {}
    for (symbol, label, start), value in expected.items():
        if (symbol, label) not in newest or start > newest[(symbol, label)]["window_start"]:
            newest[(symbol, label)] = value
    return newest


def hash_matches(redis, expected: dict, state: dict):
    def check():
        wrong = {}
        for (symbol, label), value in newest_per_window(expected).items():
            raw = redis.hget(LIVE_KEY_PREFIX + symbol, label)
            wrong[(symbol, label)] = same(json.loads(raw), value) if raw else ["missing"]
        state["wrong"] = {k: v for k, v in wrong.items() if v}
        return not state["wrong"]
    return check


def test_open_windows_equal_the_calculation_provisional_conflated_on_their_own_channel(services, kafka, redis):
    symbols = unique_symbols(3)
    dlq_before = kafka.end_offsets(DEAD_LETTER_TOPIC)
    listener = Listener(redis)
    lane = services(LANE, BIGDATA_LANE_GROUP=unique_group(names.LIVE_GROUP))
    lane.wait_for(lambda h: h.get("assigned_partitions"), 60, "partitions assigned")

    sent = send_ticks(kafka, symbols, 3000)
    kafka.send(TICKS_TOPIC, [(symbols[0].encode(), b"not json"),
                             (symbols[0].encode(), tick_value(symbols[0], "synthetic-live-bad", -1.0,
                                                              int(time.time() * 1000), 100))])
    expected = expected_windows(sent)
    state = {}
    try:
        wait_until(hash_matches(redis, expected, state), 60, "the live hash equals the calculation",
                   explain=lambda: state)
        time.sleep(0.5)  # the last interval's records reach the channel
        messages = [m for m in listener.drain() if m["symbol"] in symbols]
    finally:
        listener.close()
    newest = latest(messages)
    wrong = {key: same(newest[key], value) if key in newest else ["missing"] for key, value in expected.items()}
    assert not {k: v for k, v in wrong.items() if v}, "every window's newest record on the channel"
    assert all(m["provisional"] is True and m["published_at"] >= m["last_trade_time"] for m in messages)
    assert len(messages) < len(sent) / 3, f"conflated: {len(messages)} records for {len(sent)} ticks"
    assert not any(redis.exists(LATEST_KEY_PREFIX + s) for s in symbols), "never Spark's keys"

    health = lane.wait_for(lambda h: h["counters"].get("rejected.bad_price") == 1, 10, "the refusals counted")
    assert health["counters"]["rejected.not_json"] == 1
    letters = [json.loads(m.value()) for m in kafka.read(DEAD_LETTER_TOPIC, dlq_before)]
    assert not [letter for letter in letters if letter["service"] == "live-lane"], "the storage writer owns the dead letters"
    assert lane.terminate() == 0


def test_kill_9_then_restart_rebuilds_the_open_windows_from_the_log(services, kafka, redis):
    symbols = unique_symbols(2)
    group = unique_group(names.LIVE_GROUP)
    lane = services(LANE, BIGDATA_LANE_GROUP=group, BIGDATA_KAFKA_SESSION_TIMEOUT_MS=6000)
    lane.wait_for(lambda h: h.get("assigned_partitions"), 60, "partitions assigned")
    first = send_ticks(kafka, symbols, 1000)
    state = {}
    wait_until(hash_matches(redis, expected_windows(first), state), 60, "the first half published",
               explain=lambda: state)
    lane.kill9()
    second = send_ticks(kafka, symbols, 1000, first=1000)  # while it is down
    restarted = services(LANE, BIGDATA_LANE_GROUP=group, BIGDATA_KAFKA_SESSION_TIMEOUT_MS=6000)
    expected = expected_windows(first + second)
    wait_until(hash_matches(redis, expected, state), 90, "every tick of both halves in the windows",
               explain=lambda: state)
    health = restarted.health()
    print(f"restarted lane: {health['counters']}, open windows {health['open_windows']}")
    assert restarted.terminate() == 0
