"""The producer against the real Kafka: valid ticks keyed by symbol, every one
acknowledged by the in-sync replicas (the idempotent producer, which librdkafka
only runs with acks=all), symbols changed over HTTP, SIGTERM exits 0."""
import json
import re
import time
import uuid

import pytest

from servicekit import unique_symbols
from shared.names import TICKS_TOPIC
from services.core.tick import Rules, validate

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

RULES = Rules(currencies=frozenset({"USD"}))


def our_ticks(kafka, since, prefix):
    ticks = []
    for message in kafka.read(TICKS_TOPIC, since):
        value = json.loads(message.value())
        if value["id"].startswith(prefix):
            ticks.append((message, value))
    return ticks


def final_counters(process) -> dict:
    return [line for line in process.lines() if line.get("event") == "stopped"][-1]["counters"]


def test_ticks_are_valid_keyed_by_symbol_and_all_acknowledged(services, kafka, backends):
    symbols = unique_symbols(3)
    run = uuid.uuid4().hex[:12]
    since = kafka.end_offsets(TICKS_TOPIC)
    producer = services("services.producer", BIGDATA_PRODUCER_SYMBOLS=",".join(symbols),
                        BIGDATA_PRODUCER_RATE=3000, BIGDATA_PRODUCER_MAX_TICKS=3000, BIGDATA_PRODUCER_RUN_ID=run)
    assert producer.process.wait(60) == 0, producer.tail()
    counters = final_counters(producer)
    assert counters["sent"] == counters["acked"] == 3000 and counters["failed"] == 0

    ticks = our_ticks(kafka, since, f"synthetic-{run}-")
    assert sorted(int(v["id"].rsplit("-", 1)[1]) for _, v in ticks) == list(range(1, 3001))
    partition_of = {}
    last_seq = {}
    for message, _ in ticks:
        tick = validate(message.value(), RULES, message.timestamp()[1], key=message.key())
        assert message.key().decode() == tick.symbol and tick.symbol in symbols and tick.source == "synthetic"
        assert partition_of.setdefault(tick.symbol, message.partition()) == message.partition()
        seq = int(tick.id.rsplit("-", 1)[1])
        assert seq > last_seq.get(message.partition(), 0), "reordered within a partition"
        last_seq[message.partition()] = seq

    # The brokers' log shows the batches came from an idempotent producer (a producer id
    # and sequence numbers), which librdkafka refuses to run without acks=all.
    for partition in {m.partition() for m, _ in ticks}:
        offsets = [m.offset() for m, _ in ticks if m.partition() == partition]
        dump = backends.docker("sh", "-c", f"/usr/local/bin/kafka-run-class org.apache.kafka.tools.DumpLogSegments "
                               f"--files /var/lib/bigdata/kafka/data/{TICKS_TOPIC}-{partition}/*.log").stdout
        batches = [(int(b), int(e), int(pid)) for b, e, pid in
                   re.findall(r"baseOffset: (\d+) lastOffset: (\d+) .*?producerId: (-?\d+)", dump)]
        ours = [b for b in batches if b[1] >= min(offsets) and b[0] <= max(offsets)]
        assert ours, f"no batch of partition {partition} found in the log dump:\n{dump[-2000:]}"
        assert all(pid >= 0 for _, _, pid in ours), f"batches without a producer id: {ours[:5]}"


def test_symbols_are_added_and_removed_over_http_and_sigterm_exits_0(services, kafka):
    first, second = unique_symbols(2)
    run = uuid.uuid4().hex[:12]
    since = kafka.end_offsets(TICKS_TOPIC)
    producer = services("services.producer", BIGDATA_PRODUCER_SYMBOLS=first, BIGDATA_PRODUCER_RATE=400,
                        BIGDATA_PRODUCER_RUN_ID=run)
    producer.wait_running()
    assert producer.http("GET", "/") == (200, {"source": "synthetic", "symbols": [first]})

    assert producer.http("POST", f"/{second}", token="not-the-token")[0] == 401, "control needs the token"
    added_at = int(time.time() * 1000)
    status, body = producer.http("POST", f"/{second}")
    assert status == 201 and body["symbols"] == sorted([first, second])
    assert producer.http("POST", f"/{second}")[0] == 200, "adding twice is harmless"
    assert producer.http("POST", "/not%20a%20symbol")[0] == 400
    time.sleep(1.5)
    status, body = producer.http("DELETE", f"/{first}")
    removed_at = int(time.time() * 1000)
    assert status == 200 and body["symbols"] == [second]
    assert producer.http("DELETE", f"/{first}")[0] == 404
    time.sleep(1.5)
    assert producer.http("GET", "/")[1]["symbols"] == [second]

    assert producer.terminate() == 0, producer.tail()
    counters = final_counters(producer)
    assert counters["sent"] == counters["acked"] > 0 and counters["failed"] == 0
    ticks = [v for _, v in our_ticks(kafka, since, f"synthetic-{run}-")]
    assert len(ticks) == counters["sent"], "every acknowledged tick is in the topic"
    times = {s: [t["trade_time"] for t in ticks if t["symbol"] == s] for s in (first, second)}
    assert times[first] and max(times[first]) <= removed_at
    assert times[second] and min(times[second]) >= added_at
    assert max(times[second]) > removed_at + 1000, "the remaining symbol went on"


def test_replay_sends_the_packaged_history(services, kafka):
    run = uuid.uuid4().hex[:12]
    since = kafka.end_offsets(TICKS_TOPIC)
    producer = services("services.producer", BIGDATA_PRODUCER_SOURCE="replay", BIGDATA_PRODUCER_SYMBOLS="IBM",
                        BIGDATA_REPLAY_SPEED=200, BIGDATA_PRODUCER_MAX_TICKS=40, BIGDATA_PRODUCER_RUN_ID=run)
    assert producer.process.wait(60) == 0, producer.tail()
    ticks = sorted((v for _, v in our_ticks(kafka, since, f"replay-{run}-")),
                   key=lambda v: int(v["id"].rsplit("-", 1)[1]))
    assert len(ticks) == 40 and {t["symbol"] for t in ticks} == {"IBM"} and {t["source"] for t in ticks} == {"replay"}
    from services.producer.sources import load_history
    day, o, h, low, c, volume = load_history()["IBM"][0]
    assert [t["price"] for t in ticks[:4]] == ([o, low, h, c] if c >= o else [o, h, low, c])
    assert sum(t["volume"] for t in ticks[:4]) == volume
