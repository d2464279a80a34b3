"""The storage writer against the real Kafka and Cassandra: every tick stored
exactly once, offsets committed only after the write, kill -9 and restart lose
and duplicate nothing, malformed records go to the dead-letter topic, SIGTERM exits 0."""
import json
import time
import uuid

import pytest

from records import Record
from servicekit import stored_ticks, unique_group, unique_symbols, wait_until
from shared import names
from shared.names import DEAD_LETTER_TOPIC, TICKS_TOPIC
from services.core.service import Service
from services.core.tick import Rules, Tick
from services.storage_writer.app import RecentIds, Writer

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

WRITER = "services.storage_writer"


def tick(symbol, tick_id=None, **changes) -> dict:
    value = {"id": tick_id or f"synthetic-test{uuid.uuid4().hex[:8]}-1", "symbol": symbol, "price": 101.25,
             "currency": "USD", "trade_time": int(time.time() * 1000), "volume": 100, "source": "synthetic"}
    value.update(changes)
    return value


def record(value: dict, key=None):
    return (key or value["symbol"]).encode(), json.dumps(value).encode()


def committed_reaches(kafka, group, ends):
    def check():
        committed = kafka.committed(group, TICKS_TOPIC)
        return all(committed.get(p, -1) >= o for p, o in ends.items())
    return check


def test_ticks_stored_once_and_offsets_committed_only_after_the_write(services, kafka, cassandra, backends):
    group = unique_group(names.WRITER_GROUP)
    kafka.start_group_at_end(group, TICKS_TOPIC)
    symbols = unique_symbols(2)
    run = uuid.uuid4().hex[:8]
    sent = [tick(symbols[n % 2], f"synthetic-{run}-{n}", price=100 + n / 100, volume=n) for n in range(300)]
    writer = services(WRITER, BIGDATA_WRITER_GROUP=group)
    writer.wait_running()
    kafka.send(TICKS_TOPIC, [record(t) for t in sent[:200]])
    wait_until(lambda: len(stored_ticks(cassandra, symbols)) == 200, 60, "200 rows")
    ends = kafka.end_offsets(TICKS_TOPIC)
    wait_until(committed_reaches(kafka, group, ends), 30, "offsets committed")

    # Cassandra goes away: the writes fail, the writer stays up and commits nothing
    backends.docker("systemctl", "stop", "cassandra")
    try:
        kafka.send(TICKS_TOPIC, [record(t) for t in sent[200:]])
        writer.wait_for(lambda h: h["status"] == "degraded" and h["counters"].get("batch_failures", 0) >= 2,
                        60, "failing batches")
        assert kafka.committed(group, TICKS_TOPIC) == {p: o for p, o in ends.items()}
    finally:
        backends.docker("systemctl", "start", "cassandra")
    wait_until(lambda: len(stored_ticks(cassandra, symbols)) == 300, 240, "300 rows after Cassandra is back")
    wait_until(committed_reaches(kafka, group, kafka.end_offsets(TICKS_TOPIC)), 60, "offsets committed again")
    writer.wait_running()

    rows = {row.tick_id: row for row in stored_ticks(cassandra, symbols)}
    assert len(rows) == 300
    for value in sent:
        row = rows[value["id"]]
        assert (row.symbol, row.price, row.currency, row.volume, row.source) == \
            (value["symbol"], value["price"], value["currency"], value["volume"], value["source"])
        assert int(row.trade_time.timestamp() * 1000) == value["trade_time"]
    assert writer.terminate() == 0, writer.tail()
    assert writer.lines()[-1]["event"] == "stopped"


def test_kill_9_mid_stream_then_restart_stores_every_tick_exactly_once(services, kafka, cassandra):
    group = unique_group(names.WRITER_GROUP)
    kafka.start_group_at_end(group, TICKS_TOPIC)
    symbols = unique_symbols(4)
    run = uuid.uuid4().hex[:12]
    total = 12000
    producer = services("services.producer", BIGDATA_PRODUCER_SYMBOLS=",".join(symbols),
                        BIGDATA_PRODUCER_RATE=3000, BIGDATA_PRODUCER_MAX_TICKS=total, BIGDATA_PRODUCER_RUN_ID=run)
    writer = services(WRITER, BIGDATA_WRITER_GROUP=group, BIGDATA_WRITER_BATCH=200)
    at_kill = writer.wait_for(lambda h: h["counters"].get("stored", 0) >= 2000, 90, "2000 stored")
    writer.kill9()
    assert at_kill["counters"]["stored"] < total, "the kill came too late to be mid-stream"
    time.sleep(1)
    restarted = services(WRITER, BIGDATA_WRITER_GROUP=group, BIGDATA_WRITER_BATCH=200)
    assert producer.process.wait(60) == 0, producer.tail()
    wait_until(committed_reaches(kafka, group, kafka.end_offsets(TICKS_TOPIC)), 120, "all committed")

    ids = [row.tick_id for row in stored_ticks(cassandra, symbols)]
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {f"synthetic-{run}-{n}" for n in range(1, total + 1)}
    health = restarted.health()
    assert health["counters"].get("rejected.duplicate", 0) == 0, "a redelivery is not a duplicate"
    print(f"killed after at least {at_kill['counters']['stored']} of {total} ticks were stored; the "
          f"restarted writer stored {health['counters']['stored']}")
    assert restarted.terminate() == 0


def test_malformed_ticks_are_dead_lettered_counted_and_cost_no_valid_tick(services, kafka, cassandra):
    group = unique_group(names.WRITER_GROUP)
    kafka.start_group_at_end(group, TICKS_TOPIC)
    dlq_since = kafka.end_offsets(DEAD_LETTER_TOPIC)
    symbol, other = unique_symbols(2)
    key = symbol.encode()
    now = int(time.time() * 1000)
    first = tick(symbol)
    good = json.dumps(tick(symbol)).encode()
    bad = [
        (b"{this is not json", "not_json"),
        (b"\xff\xfe binary", "not_json"),
        (b"[1, 2, 3]", "not_object"),
        (json.dumps({k: v for k, v in tick(symbol).items() if k != "price"}).encode(), "missing_field"),
        (json.dumps(tick(symbol, price="101.25")).encode(), "wrong_type"),
        (json.dumps(tick(symbol, trade_time=now / 1000 + 0.5)).encode(), "wrong_type"),
        (json.dumps(tick("")).encode(), "bad_symbol"),
        (json.dumps(tick("X" * 40)).encode(), "bad_symbol"),
        (good.replace(b"101.25", b"NaN"), "bad_price"),
        (good.replace(b"101.25", b"Infinity"), "bad_price"),
        (json.dumps(tick(symbol, price=-5.0)).encode(), "bad_price"),
        (json.dumps(tick(symbol, price=0)).encode(), "bad_price"),
        (json.dumps(tick(symbol, volume=-1)).encode(), "bad_volume"),
        (json.dumps(tick(symbol, currency="XYZ")).encode(), "unknown_currency"),
        (json.dumps(tick(symbol, source="rumour")).encode(), "unknown_source"),
        (json.dumps(tick(symbol, trade_time=now + 3_600_000)).encode(), "time_in_future"),
        (json.dumps(tick(symbol, trade_time=now - 30 * 86_400_000)).encode(), "time_in_past"),
        (json.dumps({**tick(symbol), "padding": "x" * 4000}).encode(), "oversized"),
        (json.dumps(first).encode(), "duplicate"),
    ]
    records, expected, valid_ids = [record(first)], {}, [first["id"]]
    for value, reason in bad:
        valid = tick(symbol)
        valid_ids.append(valid["id"])
        records += [record(valid), (key, value)]
        expected[len(records) - 1] = reason
    mismatched = tick(symbol)
    records.append(record(mismatched, key=other))
    expected[len(records) - 1] = "key_mismatch"
    last = tick(symbol)
    records.append(record(last))
    valid_ids.append(last["id"])

    writer = services(WRITER, BIGDATA_WRITER_GROUP=group)
    writer.wait_running()
    positions = kafka.send(TICKS_TOPIC, records)

    wait_until(lambda: len(stored_ticks(cassandra, [symbol])) == len(valid_ids), 60, "valid ticks stored")
    wait_until(committed_reaches(kafka, group, kafka.end_offsets(TICKS_TOPIC)), 30, "offsets committed")
    assert sorted(row.tick_id for row in stored_ticks(cassandra, [symbol])) == sorted(valid_ids)
    assert stored_ticks(cassandra, [other]) == []

    wanted = {positions[i]: reason for i, reason in expected.items()}
    found = {}
    deadline = time.monotonic() + 30
    while len(found) < len(wanted) and time.monotonic() < deadline:
        for letter in kafka.read_json(DEAD_LETTER_TOPIC, dlq_since):
            where = (letter["partition"], letter["offset"])
            if letter["topic"] == TICKS_TOPIC and where in wanted and letter["service"] == "storage-writer":
                found[where] = letter
        time.sleep(0.5)
    assert {where: letter["reason"] for where, letter in found.items()} == wanted
    for index, reason in expected.items():
        letter = found[positions[index]]
        assert letter["detail"] and letter["key"] == records[index][0].decode()
        if reason != "oversized":
            original = letter.get("original")
            assert (original.encode() if original is not None else None) == records[index][1] or \
                letter.get("original_base64")

    counters = writer.health()["counters"]
    for reason in set(expected.values()):
        assert counters.get(f"rejected.{reason}") == list(expected.values()).count(reason), (reason, counters)
    assert counters["dead_lettered"] == len(expected)
    assert writer.health()["status"] == "running"
    # the same, as Prometheus scrapes it (GET /metrics): dead letters by reason, rows stored
    scraped = writer.metrics()
    for reason in set(expected.values()):
        assert scraped[("bigdata_rejected_total", reason)] == list(expected.values()).count(reason), reason
    assert scraped[("bigdata_dead_lettered_total", None)] == len(expected)
    assert scraped[("bigdata_stored_total", None)] == counters["stored"] >= len(valid_ids)
    assert scraped[("bigdata_health", "running")] == 1
    assert writer.terminate() == 0


def test_a_row_cassandra_refuses_is_dead_lettered_alone_and_the_rest_stored(backends, cassandra):
    """The writer sends a partition's rows as one unlogged batch; when Cassandra refuses
    the batch, its rows go again one at a time, so only the refused row is dead-lettered.
    The refused row: an id longer than a clustering key may be (65535 bytes). The
    contract's validation stops such ids, so the handler is fed past it."""
    symbol, other = unique_symbols(2)
    run = uuid.uuid4().hex[:8]
    now = int(time.time() * 1000)
    ticks = [Tick(f"synthetic-{run}-{n}", (symbol, other)[n % 2], 100.0 + n, "USD", now + n, n, "synthetic")
             for n in range(8)]
    ticks.insert(3, Tick("x" * 70_000, symbol, 100.0, "USD", now, 1, "synthetic"))
    records = [Record(offset, tick.to_json().encode(), key=tick.symbol.encode()) for offset, tick in enumerate(ticks)]
    service = Service("storage-writer", backends.settings, 0)
    writer = Writer(service, cassandra, Rules(), concurrency=4, rows_per_batch=3, recent=RecentIds(100))
    writer.sort = lambda batch: ([(tick, (r.topic(), r.partition(), r.offset())) for tick, r in zip(ticks, batch)],
                                 [])

    dead = writer(records)
    assert [(letter.offset, letter.reason) for letter in dead] == [(3, "rejected_by_store")]
    assert "65535" in dead[0].detail, dead[0].detail
    stored = stored_ticks(cassandra, [symbol, other])
    assert sorted(row.tick_id for row in stored) == sorted(tick.id for tick in ticks if tick.id.startswith("synth"))
    assert service.snapshot()["stored"] == 8
