"""The stream processor against the real Kafka and the Spark standalone cluster of
the one-node platform: the job runs where an operator would run it, on the Spark
host (client mode, the host's python3, pyspark from the deployed distribution),
submitted to the standalone master; the test produces ticks with known trade times
and checks every window's analytics against its own calculation, the dead letters
against the tick contract, a kill -9 of the driver mid-stream against the
checkpoint, and SIGTERM against a clean exit."""
from __future__ import annotations

import json
import random
import statistics
import subprocess
import threading
import time
import uuid

import pytest

from servicekit import (CHECKPOINTS, WINDOWS, Sent, analytics_of, expected_windows, figures, latest, same, tick_value,
                        unique_symbols, wait_for_windows, wait_until)
from services.core import analytics, clients
from shared.names import ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, TICKS_TOPIC
from services.core.tick import Rules
from services.stream_processor import SERVICE

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

# --- the tests ---------------------------------------------------------------------------------------

def test_windows_match_an_independent_calculation_and_refused_records_are_counted_not_dead_lettered(jobs, kafka):
    run = uuid.uuid4().hex[:8]
    job = jobs(f"test-{run}")
    job.wait_ready()
    # meanwhile, a second driver with a wrong password: degraded, naming the cause, and it stays up
    # (it gets no executor while the first holds the worker's cores: it never needs one)
    refused = jobs(f"test-{run}-refused", BIGDATA_KAFKA_PASSWORD="not-the-password-0123456789",
                   BIGDATA_STREAM_STALL_S=15)
    analytics_since = kafka.end_offsets(ANALYTICS_TOPIC)
    dlq_since = kafka.end_offsets(DEAD_LETTER_TOPIC)

    # three symbols over six seconds of trade time (several 1 s windows, one or two 1 min ones):
    # ties in trade time, windows whose every tick has volume 0, odd lots, prices in cents
    rng = random.Random(7)
    symbols = unique_symbols(3)
    now = int(time.time() * 1000)
    base = now - now % 1000 - 6000
    records, planned = [], []  # (key, value); (index in records, symbol, trade_time, price, volume)
    for n in range(240):
        symbol = symbols[n % 3]
        trade_time = base + rng.randrange(0, 6000)
        earlier = [p[2] for p in planned if p[1] == symbol]
        if n % 17 == 0 and earlier:  # the same trade time as an earlier tick of the symbol
            trade_time = earlier[-1]
        price = round(100 + rng.uniform(-2, 2), 2)
        volume = 0 if symbol == symbols[2] and trade_time - base < 1000 else rng.choice([100, 200, 37, 500, 0])
        records.append((symbol.encode(), tick_value(symbol, f"synthetic-{run}-{n}", price, trade_time, volume)))
        planned.append((len(records) - 1, symbol, trade_time, price, volume))

    # valid by the contract, but not in the form every producer writes: refused by this lane
    # (the live lane and the writer take them; services/README.md)
    odd = symbols[0]
    exotic = [
        b"\xef\xbb\xbf" + tick_value(odd, f"synthetic-{run}-bom", 101.5, base + 10, 100),  # a UTF-8 BOM
        json.dumps({"id": f"synthetic-{run}-utf16", "symbol": odd, "price": 103.5, "currency": "USD",
                    "trade_time": base + 30, "volume": 100, "source": "synthetic"}).encode("utf-16"),
        json.dumps(json.loads(tick_value(odd, f"synthetic-{run}-spaced", 104.5, base + 40, 100))).encode(),
    ]
    records += [(odd.encode(), value) for value in exotic]
    # a tick sent twice (the same id): counts once
    records.append(records[planned[0][0]])
    duplicate = len(records) - 1

    # malformed records: refused (counted), never in a window
    good = json.loads(records[0][1])
    bad_values = [
        b"{this is not json", b"\xff\xfe binary", b"", b"[1, 2, 3]", b'"AAPL"',
        json.dumps({k: v for k, v in good.items() if k != "price"}).encode(),
        json.dumps({**good, "price": "101.25"}).encode(), json.dumps({**good, "volume": 1.5}).encode(),
        json.dumps({**good, "trade_time": good["trade_time"] + 0.5}).encode(), json.dumps({**good, "id": None}).encode(),
        json.dumps({**good, "id": "a b"}).encode(), json.dumps({**good, "symbol": ""}).encode(),
        json.dumps({**good, "symbol": "X" * 40}).encode(), json.dumps({**good, "symbol": "aapl"}).encode(),
        json.dumps({**good, "price": 101.25}).encode().replace(b"101.25", b"NaN"),
        json.dumps({**good, "price": 101.25}).encode().replace(b"101.25", b"-Infinity"),
        json.dumps({**good, "price": -5.0}).encode(), json.dumps({**good, "price": 0}).encode(),
        json.dumps({**good, "price": 2e9}).encode(), json.dumps({**good, "volume": -1}).encode(),
        json.dumps({**good, "volume": 2**63}).encode(), json.dumps({**good, "currency": "XYZ"}).encode(),
        json.dumps({**good, "source": "rumour"}).encode(),
        json.dumps({**good, "trade_time": now + 3_600_000}).encode(),
        json.dumps({**good, "trade_time": now - 30 * 86_400_000}).encode(),
        json.dumps({**good, "trade_time": now // 1000}).encode(),
        json.dumps({**good, "padding": "x" * 4000}).encode(),
        records[0][1] + b"x", records[0][1] + records[0][1], records[0][1] + b"}",  # trailing content
        # in the producer's own form, so past the fast path's pattern, but out of the contract's bounds
        tick_value(odd, f"synthetic-{run}-b1", -5.0, now, 100), tick_value(odd, f"synthetic-{run}-b2", 2e9, now, 100),
        tick_value(odd, f"synthetic-{run}-b3", 1.5, now, 100, currency="XYZ"),
        tick_value(odd, f"synthetic-{run}-b4", 1.5, now, 100, source="rumour"),
        tick_value(odd, f"synthetic-{run}-b5", 1.5, now + 3_600_000, 100),
    ]
    rules = Rules.from_settings(kafka.settings)
    bad = {}
    for value in bad_values:
        records.append((symbols[0].encode(), value))
        bad[len(records) - 1] = value
    records.append((symbols[0].encode(), records[planned[1][0]][1]))  # keyed by another symbol's name
    bad[len(records) - 1] = records[-1][1]
    rng.shuffle(order := list(range(len(records))))  # interleaved
    positions_by_index = dict(zip(order, kafka.send(TICKS_TOPIC, [records[i] for i in order])))
    sent_at = time.time()
    # of the two copies of a tick, the first in the log counts
    positions_by_index[planned[0][0]] = min(positions_by_index[planned[0][0]], positions_by_index[duplicate])
    ticks = [Sent(symbol, trade_time, price, volume, positions_by_index[i])
             for i, symbol, trade_time, price, volume in planned]

    wanted = expected_windows(ticks)
    found = wait_for_windows(kafka, analytics_since, wanted, timeout=90)
    print(f"{len(ticks)} ticks in {len(wanted)} windows matched after {time.time() - sent_at:.1f}s; "
          f"{len(found)} analytics records (updates included)")
    for record in found:  # each record, not only the newest, is a record of the contract
        analytics.validate(json.dumps(record))
    assert any(r["volume"] == 0 and r["vwap"] == r["average"] for r in latest(found).values()), \
        "a window of volume 0 has its average as VWAP"

    # every refused record counted; none dead-lettered by this job (the storage writer owns them)
    health = job.wait_for(lambda h: h["counters"].get("refused", 0) >= len(bad) + len(exotic), 30, "counted")
    counters = health["counters"]
    assert counters["refused"] == len(bad) + len(exotic), counters
    assert not [letter for letter in kafka.read_json(DEAD_LETTER_TOPIC, dlq_since) if letter["service"] == SERVICE]
    assert counters.get("duplicates") == 1, counters
    assert health["status"] == "running"

    refusal = refused.wait_for(lambda h: h.get("status") == "degraded" and "Authentication" in h.get("problem", ""),
                               90, "degraded by the wrong password")
    assert refusal["counters"].get("query_failures", 0) >= 1 and not refusal["counters"].get("records")
    assert refused.terminate() == 0, refused.tail()

    # latency: a tick's produce acknowledgement to its window's analytics record (Kafka time stamps)
    latencies = probe_latency(kafka, symbols[0], run, rules, count=8)
    print(f"tick -> analytics record latency: p50 {statistics.median(latencies):.0f} ms, "
          f"max {max(latencies):.0f} ms over {len(latencies)} probes; last batch {job.health()['last_batch']}")

    assert job.terminate() == 0, job.tail()
    lines = job.lines()
    events = [line.get("event") for line in lines]
    assert "stopping" in events and events[-1] == "stopped", job.tail()
    assert all("raw" not in line or "incubator modules" in line["raw"] for line in lines), \
        "every log line is JSON (the driver JVM's too)"


def probe_latency(kafka, symbol, run, rules, count: int) -> list[float]:
    """Send one tick at a time and wait for the analytics record of its 1 s window."""
    from confluent_kafka import TopicPartition
    consumer = clients.kafka_consumer(kafka.settings, f"test-latency-{run}")
    try:
        ends = kafka.end_offsets(ANALYTICS_TOPIC)
        consumer.assign([TopicPartition(ANALYTICS_TOPIC, p, o) for p, o in ends.items()])
        latencies = []
        for n in range(count):
            time.sleep(0.7)
            trade_time = int(time.time() * 1000)
            kafka.send(TICKS_TOPIC, [(symbol.encode(), tick_value(symbol, f"synthetic-{run}-probe{n}", 100.0,
                                                                  trade_time, 100))])
            acked = time.time() * 1000
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                message = consumer.poll(0.05)
                if message is None or message.error():
                    continue
                record = json.loads(message.value())
                if record["symbol"] == symbol and record["window"] == "1s" and \
                        record["window_start"] <= trade_time < record["window_end"] and \
                        record["last_trade_time"] == trade_time:
                    latencies.append(message.timestamp()[1] - acked)
                    break
            else:
                raise AssertionError(f"probe {n}: no analytics record within 30 s")
        return latencies
    finally:
        consumer.close()


def test_kill_9_of_the_driver_mid_stream_then_restart_from_the_checkpoint(jobs, kafka, spark_host):
    run = uuid.uuid4().hex[:8]
    checkpoint = f"test-{run}"
    job = jobs(checkpoint)
    job.wait_ready()
    analytics_since = kafka.end_offsets(ANALYTICS_TOPIC)
    symbols = unique_symbols(3)
    sent: list[Sent] = []
    stop = threading.Event()
    errors = []
    rng = random.Random(11)

    def produce():
        """About 150 ticks a second, trade time = now, until told to stop."""
        n = 0
        try:
            while not stop.is_set():
                batch = []
                for _ in range(15):
                    symbol = symbols[n % 3]
                    batch.append((symbol, int(time.time() * 1000), round(50 + rng.uniform(0, 5), 2),
                                  rng.choice([0, 100, 300, 45])))
                    n += 1
                positions = kafka.send(TICKS_TOPIC, [
                    (s.encode(), tick_value(s, f"synthetic-{run}-{i}", p, t, v))
                    for i, (s, t, p, v) in enumerate(batch, start=n - len(batch))])
                sent.extend(Sent(s, t, p, v, where) for (s, t, p, v), where in zip(batch, positions))
                time.sleep(0.1)
        except Exception as error:  # the test fails on it below
            errors.append(error)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        # mid-stream: the job has emitted windows of these ticks, and more keep coming
        wait_until(lambda: len(analytics_of(kafka, analytics_since, set(symbols))) >= 20, 90,
                   "first analytics of the stream")
        at_kill = job.health()
        job.kill9()
        killed_at, ticks_at_kill = time.time(), len(sent)
        time.sleep(3)
        restarted = jobs(checkpoint)
        restarted.wait_for(lambda h: h.get("status") == "running" and h["counters"].get("records", 0) > 0, 150,
                           "the restarted job processing ticks")
        resumed_after = time.time() - killed_at
        time.sleep(3)
    finally:
        stop.set()
        producer.join(30)
    assert not errors, errors
    assert len(sent) > ticks_at_kill, "ticks were sent while the job was down"

    wanted = expected_windows(sent)
    records = wait_for_windows(kafka, analytics_since, wanted, timeout=90)

    # no record was ever wrong: each one is its window's figures over the ticks the job had
    # read by then, i.e. over the window's first `count` ticks in log order (a replayed batch
    # after the kill writes the same records again; a double count would show here)
    by_window: dict[tuple, list[Sent]] = {}
    for tick in sorted(sent, key=lambda t: t.position):
        for label, size in WINDOWS.items():
            by_window.setdefault((tick.symbol, label, tick.trade_time // size * size), []).append(tick)
    for record in records:
        key = (record["symbol"], record["window"], record["window_start"])
        members = by_window[key]
        assert 1 <= record["count"] <= len(members), record
        assert not same(record, figures(key, members[:record["count"]])), (record, same(
            record, figures(key, members[:record["count"]])))
    print(f"killed at batch {at_kill['last_batch'].get('batch_id')} after {ticks_at_kill} ticks; the "
          f"restarted job was processing {resumed_after:.0f}s after the kill; {len(sent)} ticks, "
          f"{len(wanted)} windows, {len(records)} analytics records, all consistent")
    # windows are closed (their state dropped) once the watermark passes their end: the job's
    # own event-time mark on the window end works (a Spark upgrade could change how)
    closed = restarted.wait_for(lambda h: h["counters"].get("windows_closed", 0) > 0, 30, "windows closed")
    print(f"the restarted job closed {closed['counters']['windows_closed']} windows")
    assert restarted.terminate() == 0, restarted.tail()


def test_a_checkpoint_of_the_earlier_job_is_refused_with_what_to_do(jobs, spark_host):
    """The earlier job (two scans, a dead-letter branch, the HDFS-backed store) left checkpoints
    without the layout marker: resuming one would mix query shapes; the job says so and exits 2."""
    checkpoint = f"test-old-{uuid.uuid4().hex[:8]}"
    location = f"{CHECKPOINTS}/{checkpoint}"
    subprocess.run(["docker", "exec", spark_host.container, "setpriv", "--reuid=bigdata", "--regid=bigdata",
                    "--init-groups", "sh", "-c", f"mkdir -p {location}/offsets {location}/state && "
                    f"echo '{{\"id\":\"0b6c\"}}' > {location}/metadata && echo v1 > {location}/offsets/0"],
                   check=True)
    job = jobs(checkpoint)
    assert job.process.wait(120) == 2, job.tail()
    refusals = [line for line in job.lines() if line.get("event") == "checkpoint_refused"]
    assert len(refusals) == 1 and location in refusals[0]["error"], job.tail()
    assert "BIGDATA_STREAM_CHECKPOINT" in refusals[0]["error"]
    listing = subprocess.run(["docker", "exec", spark_host.container, "ls", location], capture_output=True,
                             text=True, check=True).stdout.split()
    assert sorted(listing) == ["metadata", "offsets", "state"], "the old checkpoint is left as it was"
