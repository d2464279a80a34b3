"""The whole pipeline, end to end, as processes on the one-node platform: the producer
(synthetic), the storage writer, the stream processor (on the Spark host, submitted
to the standalone master), the Redis publisher, the live lane and the dashboard, with a headless
Chromium on the dashboard's page. A known set of ticks for a test symbol goes in
beside the producer's; the test checks the rows in Cassandra, the analytics records
against its own calculation (servicekit's, shared with the stream processor's test),
the latest values in Redis, and what the browser shows: the chart drawn, prices and
latency of both lanes moving, the known symbol's last price, a new trade's price shown
at once from the live lane while Spark is stopped and then replaced by Spark's final
record, and no request to any other host."""
from __future__ import annotations

import json
import random
import statistics
import time
import uuid

import pytest

import browser
from servicekit import (Sent, expected_windows, same, stored_ticks, tick_value, unique_group,
                        unique_symbols, wait_for_windows, wait_until)
from shared import names
from shared.names import ANALYTICS_TOPIC, LATEST_KEY_PREFIX, TICKS_TOPIC

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    """Built and installed on the control machine, as ./bigdata would: the page's vendored
    libraries and Debian's chromium."""
    from ctl import frontend
    frontend.bundle()
    browser.install()


def test_ticks_to_cassandra_analytics_redis_and_the_browser(services, jobs, kafka, cassandra, redis):
    run = uuid.uuid4().hex[:8]
    live, known = unique_symbols(2)

    # the Spark job first (the slowest to start); it reads the tick topic from its end
    job = jobs(f"e2e-{run}")
    writer_group, publisher_group = unique_group(names.WRITER_GROUP), unique_group(names.PUBLISHER_GROUP)
    kafka.start_group_at_end(writer_group, TICKS_TOPIC)
    kafka.start_group_at_end(publisher_group, ANALYTICS_TOPIC)
    analytics_since = kafka.end_offsets(ANALYTICS_TOPIC)
    writer = services("services.storage_writer", BIGDATA_WRITER_GROUP=writer_group)
    publisher = services("services.redis_publisher", BIGDATA_PUBLISHER_GROUP=publisher_group)
    lane = services("services.live_lane", BIGDATA_LANE_GROUP=unique_group(names.LIVE_GROUP))
    dashboard = services("services.dashboard", BIGDATA_DASHBOARD_SYMBOLS=f"{live},{known}")
    for service in (writer, publisher, lane, dashboard):
        service.wait_running()
    lane.wait_for(lambda h: h.get("assigned_partitions"), 60, "the live lane's partitions")
    job.wait_ready()
    producer = services("services.producer", BIGDATA_PRODUCER_SYMBOLS=live, BIGDATA_PRODUCER_RATE=20,
                        BIGDATA_PRODUCER_RUN_ID=f"e2e{run}")
    producer.wait_running()

    # the known ticks (ids of their own: the producer's are synthetic-e2e<run>-<n>, so "-known-"
    # keeps the writer from taking either for a duplicate of the other):
    # 60 over the last 3 seconds of trade time (the job's watermark follows
    # the producer's ticks, stamped now: these are well within it); ties, a volume-0 one
    rng = random.Random(5)
    now = int(time.time() * 1000)
    planned = []
    for n in range(60):
        trade_time = now - 3000 + n * 50 - (50 if n % 13 == 0 and n else 0)  # some share a trade time
        planned.append((f"synthetic-e2e{run}-known-{n}", trade_time, round(200 + rng.uniform(-1, 1), 2),
                        0 if n == 7 else rng.choice([100, 200, 300, 41])))
    positions = kafka.send(TICKS_TOPIC, [(known.encode(), tick_value(known, tick_id, price, trade_time, volume))
                                         for tick_id, trade_time, price, volume in planned])
    sent_at = time.monotonic()
    sent = [Sent(known, trade_time, price, volume, where)
            for (_, trade_time, price, volume), where in zip(planned, positions)]

    # (a) Cassandra: every known tick, once, as sent
    rows = wait_until(lambda: (found := stored_ticks(cassandra, [known])) and len(found) >= len(planned) and found,
                      60, "the known ticks in Cassandra", explain=writer.state)
    assert sorted((r.tick_id, int(r.trade_time.timestamp() * 1000), r.price, r.volume) for r in rows) == \
        sorted((tick_id, trade_time, price, volume) for tick_id, trade_time, price, volume in planned)
    stored_after = time.monotonic() - sent_at

    # (b) the analytics records: each window equals the independent calculation; Redis keeps the newest
    wanted = expected_windows(sent)
    records = wait_for_windows(kafka, analytics_since, wanted, timeout=240)
    analysed_after = time.monotonic() - sent_at
    newest = {}
    for (_symbol, window, start), figures in wanted.items():
        if window not in newest or start > newest[window]["window_start"]:
            newest[window] = figures

    def redis_has_newest():
        found = redis.hgetall(LATEST_KEY_PREFIX + known)
        return set(found) == set(newest) and not any(same(json.loads(found[w]), f) for w, f in newest.items())

    wait_until(redis_has_newest, 30, "the newest window of each length in Redis")

    # (c) the browser: chart drawn, prices and latency moving, the known symbol's last price
    last_price = max(sent, key=lambda t: (t.trade_time, t.position)).price
    with browser.open(f"http://127.0.0.1:{dashboard.port}/?symbols={live},{known}") as page:
        assert browser.wait_chart(page, live) >= 1 and browser.wait_chart(page, known) >= 1
        first, later = browser.wait_prices_move(page, live, timeout_s=60)
        latencies = browser.wait_latency_updates(page, count=5, timeout_s=60)
        shown, _ = browser.read_price(page, known)
        assert shown == last_price, f"the known symbol shows {shown}, its last trade was at {last_price}"
        candles = page.eval_on_selector(f"{browser.card(known)} .chart", "e => e.querySelectorAll('canvas').length")
        assert candles >= 1
        live_latencies = browser.wait_latency_updates(page, count=5, timeout_s=30, lane="live")

        # the live lane: with the Spark lane frozen (its driver stopped), a new trade's price is
        # on the page at once, provisional; once Spark runs again, its final record replaces it
        probe_price = round(last_price + 7.77, 2)
        analytics_before_probe = kafka.end_offsets(ANALYTICS_TOPIC)
        job.signal("STOP")
        try:
            probe_time = int(time.time() * 1000)
            kafka.send(TICKS_TOPIC, [(known.encode(), tick_value(known, f"synthetic-e2e{run}-probe", probe_price,
                                                                  probe_time, 100))])
            live_after = browser.wait_price(page, known, probe_price, provisional=True, timeout_s=30)
            from_spark = [r for r in kafka.read_json(ANALYTICS_TOPIC, analytics_before_probe)
                          if r["symbol"] == known and r["last_trade_time"] == probe_time]
            assert not from_spark, "the price came from the live lane, Spark had not run"
        finally:
            job.signal("CONT")
        final_after = browser.wait_price(page, known, probe_price, provisional=False, timeout_s=180)
        foreign = browser.foreign_requests(page)
        assert not foreign, f"requests to other hosts (a CDN?): {foreign}"
        assert not [line for line in page.console if line.startswith("pageerror")], page.console
    print(f"known ticks: in Cassandra after {stored_after:.1f}s, every window analysed after {analysed_after:.1f}s "
          f"({len(records)} analytics records for {len(wanted)} windows); the live price moved {first} -> {later}; "
          f"tick-to-browser latency on the page: Spark lane median {statistics.median(latencies)} ms, "
          f"{latencies}; live lane median {statistics.median(live_latencies)} ms, {live_latencies}; a trade's "
          f"price shown provisional after {live_after:.2f}s with Spark stopped, final {final_after:.1f}s after "
          f"Spark resumed")

    # every process stops cleanly on SIGTERM; the producer only once every tick was acknowledged
    for service in (producer, dashboard, lane, publisher, writer):
        assert service.terminate(60) == 0, service.tail()
    assert job.terminate() == 0, job.tail()
    assert stored_ticks(cassandra, [live]), "the producer's ticks reached Cassandra too"
