"""The dashboard against the real Redis and Cassandra, with a real Socket.IO client
(python-socketio, over WebSocket): on subscribe, the latest values from Redis and
the history from Cassandra as 1-minute candles; a record published on the channel
reaches the clients showing its symbol, and only them; bad records on the channel
are counted and dropped, the service goes on; SIGTERM exits 0 with a client connected.
The live lane's provisional records (channel `stock-live`, hash `live:<symbol>`) reach
the pages as `live` and in the snapshot's `live`; the server is gevent's, and 200
WebSocket clients at once (in worker processes, bench/dashboard_fanout.py's) all
connect and each receives a record."""
from __future__ import annotations

import json
import threading
import time

import pytest
import socketio
from redis.exceptions import RedisError

from ctl import frontend
from servicekit import unique_group, unique_symbols, wait_until
from shared import names
from bench.dashboard_fanout import Workers
from bench.dashboard_fanout import record as fanout_record
from shared.names import (ANALYTICS_CHANNEL, ANALYTICS_TOPIC, KEYSPACE, LATEST_KEY_PREFIX, LIVE_CHANNEL,
                          LIVE_KEY_PREFIX, TICKS_TABLE)

pytestmark = pytest.mark.cluster  # needs the one-node platform (Docker)

DASHBOARD = "services.dashboard"
PUBLISHER = "services.redis_publisher"
HISTORY_MINUTES = 30


class Client:
    """A Socket.IO client that keeps every event it receives."""

    def __init__(self, url: str):
        self.events: list[tuple[str, object]] = []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def _record(self, event, data=None):
        with self.changed:
            self.events.append((event, data))
            self.changed.notify_all()

    def received(self, event: str) -> list:
        with self.changed:
            return [data for name, data in self.events if name == event]

    def wait(self, event: str, predicate=lambda data: True, timeout: float = 20):
        """The first `event` whose payload satisfies the predicate."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [data for name, data in self.events if name == event and predicate(data)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no {event} within {timeout}s; got {[n for n, _ in self.events]}"
                self.changed.wait(left)

    def subscribe(self, symbol: str) -> dict:
        ack = self.sio.call("subscribe", {"symbol": symbol}, timeout=30)
        assert ack == {"symbol": symbol}, ack
        return self.wait("snapshot", lambda s: s["symbol"] == symbol)

    def close(self):
        self.sio.disconnect()


def record(symbol: str, window: str, start: int, count: int, close: float, last_trade_time: int) -> dict:
    length = {"1s": 1000, "1m": 60_000}[window]
    return {"symbol": symbol, "window": window, "window_start": start, "window_end": start + length,
            "open": 100.0, "high": 102.0, "low": 99.0, "close": close, "average": 100.5, "vwap": 100.6,
            "volume": 900, "count": count, "last_trade_time": last_trade_time}


def provisional(symbol: str, window: str, start: int, count: int, close: float, last_trade_time: int) -> dict:
    """A live lane's record: an analytics record, provisional, with its publication time."""
    return {**record(symbol, window, start, count, close, last_trade_time), "provisional": True,
            "published_at": last_trade_time + 3}


def tick_id(n: int) -> str:
    return f"synthetic-test-{n}"


def expected_candles(ticks, since_ms: int) -> list[dict]:
    """The test's own 1-minute candles of (trade_time, price, volume) ticks at or after since_ms;
    ticks with equal trade times in tick id order (Cassandra's clustering order)."""
    by_minute: dict[int, list] = {}
    ordered = sorted((t for t in enumerate(ticks) if t[1][0] >= since_ms), key=lambda t: (t[1][0], tick_id(t[0])))
    for _, (trade_time, price, volume) in ordered:
        by_minute.setdefault(trade_time - trade_time % 60_000, []).append((price, volume))
    out = []
    for minute in sorted(by_minute):
        trades = by_minute[minute]
        prices = [p for p, _ in trades]
        volume = sum(v for _, v in trades)
        out.append({"time": minute // 1000, "open": prices[0], "close": prices[-1], "high": max(prices),
                    "low": min(prices), "volume": volume, "count": len(trades),
                    "average": pytest.approx(sum(prices) / len(prices)),
                    "vwap": pytest.approx(sum(p * v for p, v in trades) / volume if volume else sum(prices) / len(prices))})
    return out


@pytest.fixture(scope="module", autouse=True)
def vendored_frontend():
    frontend.bundle()


@pytest.fixture
def history_of(cassandra):
    """insert(symbol, ticks): rows in stocks.ticks as the storage writer writes them; removed at the end."""
    from datetime import datetime, timezone
    written = set()
    insert = cassandra.prepare(f"INSERT INTO {KEYSPACE}.{TICKS_TABLE} (symbol, day, trade_time, tick_id, price, "
                               f"currency, volume, source) VALUES (?, ?, ?, ?, ?, 'USD', ?, 'synthetic')")

    def put(symbol: str, ticks) -> None:
        for n, (trade_time, price, volume) in enumerate(ticks):
            when = datetime.fromtimestamp(trade_time / 1000, tz=timezone.utc)
            cassandra.execute(insert, (symbol, when.date(), when, tick_id(n), price, volume))
            written.add((symbol, when.date()))

    yield put
    for symbol, day in written:
        cassandra.execute(f"DELETE FROM {KEYSPACE}.{TICKS_TABLE} WHERE symbol = %s AND day = %s", (symbol, day))


def test_snapshot_live_records_bad_records_and_sigterm(services, redis, history_of):
    symbol, other = unique_symbols(2)
    # the page's period is whole minutes back from the moment it asks: keep that moment in the
    # minute the expected candles are counted from (a run that crossed a minute failed here), and
    # at least a second into it, so the current minute's tick (now - 500 ms) is in the current minute
    into_minute = time.time() % 60
    if not 1 <= into_minute <= 20:
        time.sleep((61 - into_minute) % 60)
    now = int(time.time() * 1000)
    # history: 3 ticks a minute over the last 40 minutes (10 of them before the period the page
    # gets), ties in trade time, volume 0 in some minutes
    ticks = []
    for minute in range(40, 0, -1):
        start = now - now % 60_000 - minute * 60_000
        ticks += [(start + 1_000, 100 + minute / 10, 100), (start + 1_000, 100.5 + minute / 10, 300),
                  (start + 30_000, 99 + minute / 5, 0 if minute % 7 == 0 else 200)]
        if minute % 7 == 0:
            ticks[-2:-1] = [(start + 1_000, 100.5 + minute / 10, 0)]
    ticks += [(now - 500, 123.45, 100)]  # the current minute
    history_of(symbol, ticks)
    latest = {"1s": record(symbol, "1s", now - now % 1000 - 1000, 3, 123.45, now - 500),
              "1m": record(symbol, "1m", now - now % 60_000, 1, 123.45, now - 500)}
    redis.hset(LATEST_KEY_PREFIX + symbol, mapping={w: json.dumps(r) for w, r in latest.items()})

    dashboard = services(DASHBOARD, BIGDATA_DASHBOARD_HISTORY_MINUTES=HISTORY_MINUTES,
                         BIGDATA_DASHBOARD_SYMBOLS=f"{symbol},{other}")
    dashboard.wait_running()
    url = f"http://127.0.0.1:{dashboard.port}"
    watcher, bystander = Client(url), Client(url)
    try:
        assert watcher.wait("hello")["symbols"] == [symbol, other]
        started = time.monotonic()
        snapshot = watcher.subscribe(symbol)
        print(f"snapshot of {len(snapshot['candles'])} candles in {time.monotonic() - started:.2f}s")
        assert "error" not in snapshot, snapshot
        assert snapshot["latest"] == latest
        assert int(time.time() * 1000) // 60_000 == now // 60_000, "the snapshot took the rest of the minute"
        since = now - now % 60_000 - HISTORY_MINUTES * 60_000
        assert snapshot["candles"] == expected_candles(ticks, since)
        assert len(snapshot["candles"]) == HISTORY_MINUTES + 1, "the period, and not before"
        assert bystander.subscribe(other)["candles"] == []

        # live: a record published on the channel reaches the watcher, as published
        live = record(symbol, "1s", now - now % 1000, 4, 124.0, int(time.time() * 1000))
        redis.publish(ANALYTICS_CHANNEL, json.dumps(live))
        assert watcher.wait("analytics") == live
        # bad records on the channel: counted, dropped; the next good one still gets through
        bad = [b"not json", json.dumps({**live, "window": "soon"}), json.dumps({**live, "count": 0}),
               json.dumps({k: v for k, v in live.items() if k != "last_trade_time"}), b"[1, 2]"]
        for value in bad:
            redis.publish(ANALYTICS_CHANNEL, value)
        after = {**live, "count": 5, "close": 124.5, "last_trade_time": live["last_trade_time"] + 1}
        redis.publish(ANALYTICS_CHANNEL, json.dumps(after))
        assert watcher.wait("analytics", lambda r: r["count"] == 5) == after
        assert watcher.received("analytics") == [live, after], "nothing of the bad records"
        counters = dashboard.wait_for(lambda h: h["counters"].get("emitted", 0) >= 2, 10, "emitted")["counters"]
        assert counters["rejected.not_json"] == 1 and counters["rejected.bad_window"] == 1
        assert counters["rejected.bad_count"] == 1 and counters["rejected.missing_field"] == 1
        assert counters["rejected.not_object"] == 1
        assert dashboard.health()["status"] == "running" and dashboard.health()["clients"] == 2
        assert bystander.received("analytics") == [], "records go only to the symbol's subscribers"

        # unsubscribe: no more records of the symbol
        watcher.sio.call("unsubscribe", {"symbol": symbol}, timeout=10)
        redis.publish(ANALYTICS_CHANNEL, json.dumps({**after, "count": 6}))
        wait_until(lambda: dashboard.health()["counters"].get("records", 0) >= 8, 10, "the record read")
        time.sleep(0.5)
        assert len(watcher.received("analytics")) == 2

        assert dashboard.terminate(30) == 0, dashboard.tail()
    finally:
        watcher.close()
        bystander.close()
    events = [line.get("event") for line in dashboard.lines()]
    assert "subscribed" in events and events[-1] == "stopped"


def test_lost_channel_connection_is_resubscribed(services, redis):
    """Redis drops the dashboard's subscription (CLIENT KILL, as a Redis restart would):
    it subscribes again, and records flow to the connected page again; it stays running."""
    symbol = unique_symbols()[0]
    dashboard = services(DASHBOARD)
    dashboard.wait_running()
    page = Client(f"http://127.0.0.1:{dashboard.port}")
    try:
        page.subscribe(symbol)
        name = f"dashboard-{dashboard.process.pid}"
        subscribers = [c["id"] for c in redis.client_list(_type="pubsub") if c.get("name") == name]
        assert len(subscribers) == 1, redis.client_list(_type="pubsub")
        redis.execute_command("CLIENT", "KILL", "ID", subscribers[0])
        # redis-py's pub/sub reconnects and subscribes again by itself (the dashboard's own loop
        # does when that fails too): a new subscriber connection of the process
        wait_until(lambda: [c["id"] for c in redis.client_list(_type="pubsub") if c.get("name") == name
                            and c["id"] != subscribers[0]], 20, "a new subscription")
        now = int(time.time() * 1000)
        live = record(symbol, "1s", now - now % 1000, 1, 99.5, now)
        wait_until(lambda: redis.publish(ANALYTICS_CHANNEL, json.dumps(live)) and page.received("analytics"), 15,
                   "a record after the new subscription", interval=1)
        assert page.received("analytics")[0] == live
        assert dashboard.health()["status"] == "running"
        assert dashboard.terminate(30) == 0
    finally:
        page.close()


def test_a_real_redis_restart_mid_stream_loses_no_window_and_no_service_restarts(services, kafka, redis, backends,
                                                                                progress):
    """Issue 16's fault: `systemctl restart redis-server` while the Redis publisher streams
    windows and a page watches. The checker: every window reached Redis (the latest hash
    ends at the last one, and the publisher's offsets, committed only after Redis took a
    batch, reach the topic's end), nothing was dead-lettered, both processes are the ones
    started before, `running`, and the page receives a window published after the restart
    (the dashboard subscribed again by itself)."""
    symbol, group, total = unique_symbols()[0], unique_group(names.PUBLISHER_GROUP), 600
    kafka.start_group_at_end(group, ANALYTICS_TOPIC)
    publisher = services(PUBLISHER, BIGDATA_PUBLISHER_GROUP=group, BIGDATA_PUBLISHER_BATCH=50)
    dashboard = services(DASHBOARD)
    publisher.wait_running()
    dashboard.wait_running()
    pids = (publisher.process.pid, dashboard.process.pid)
    page = Client(f"http://127.0.0.1:{dashboard.port}")
    base = int(time.time()) * 1000 - total * 1000
    window = [record(symbol, "1s", base + k * 1000, 1, 100.0 + k / 100, base + k * 1000 + 999)
              for k in range(total + 1)]
    try:
        page.subscribe(symbol)

        def stream():  # ~60 windows a second for 10 s
            for k in range(0, total, 6):
                kafka.send(ANALYTICS_TOPIC, [(symbol.encode(), json.dumps(w).encode()) for w in window[k:k + 6]])
                time.sleep(0.1)
        sender = threading.Thread(target=stream)
        sender.start()
        publisher.wait_for(lambda h: h["counters"].get("published", 0) >= 100, 30, "100 published")
        started = time.monotonic()
        backends.docker("systemctl", "restart", "redis-server")
        took = time.monotonic() - started
        sender.join(60)

        def latest():
            try:
                return json.loads(redis.hget(LATEST_KEY_PREFIX + symbol, "1s") or "null")
            except RedisError:
                return None  # the admin's own connection, reconnecting
        wait_until(lambda: latest() == window[total - 1], 90, "the last window in the latest hash")
        ends = kafka.end_offsets(ANALYTICS_TOPIC)
        wait_until(lambda: all(kafka.committed(group, ANALYTICS_TOPIC).get(p, -1) >= o for p, o in ends.items()),
                   60, "the publisher's offsets at the topic's end")
        kafka.send(ANALYTICS_TOPIC, [(symbol.encode(), json.dumps(window[total]).encode())])
        page.wait("analytics", lambda data: data.get("window_start") == window[total]["window_start"], timeout=60)
        counters = publisher.health()["counters"]
        assert counters.get("dead_lettered", 0) == 0, counters
        assert (publisher.process.pid, dashboard.process.pid) == pids and publisher.process.poll() is None \
            and dashboard.process.poll() is None, "a service restarted"
        assert publisher.health()["status"] == dashboard.health()["status"] == "running"
        progress(f"fault: Redis restarted ({took:.1f}s) mid-stream; windows sent {total + 1}, the last in Redis, "
                 f"published {counters.get('published')} (a batch retried after the restart is published again), "
                 f"lost 0, dead-lettered 0; the page received the window sent after the restart; no service restarted")
    finally:
        page.close()


def test_a_symbol_added_on_a_page_is_added_to_the_producer(services):
    first, added = unique_symbols(2)
    producer = services("services.producer", BIGDATA_PRODUCER_SYMBOLS=first, BIGDATA_PRODUCER_RATE=5)
    producer.wait_running()
    dashboard = services(DASHBOARD, BIGDATA_PRODUCER_URL=f"http://127.0.0.1:{producer.port}")
    dashboard.wait_running()
    page = Client(f"http://127.0.0.1:{dashboard.port}")
    try:
        page.subscribe(first)  # shown, not added: the producer is asked nothing
        assert page.sio.call("subscribe", {"symbol": added, "add": True}, timeout=30) == {"symbol": added}
        assert sorted(producer.http("GET", "/")[1]["symbols"]) == sorted([first, added])
        page.sio.call("unsubscribe", {"symbol": added}, timeout=10)
        assert sorted(producer.http("GET", "/")[1]["symbols"]) == sorted([first, added]), \
            "another page may still show it"
        assert page.sio.call("subscribe", {"symbol": "not a symbol!"}, timeout=10)["error"]
    finally:
        page.close()
    assert dashboard.terminate(30) == 0 and producer.terminate(30) == 0


def test_live_lane_records_and_snapshot(services, redis):
    """The live lane's records reach their symbol's room as `live` (Spark's stay `analytics`);
    the snapshot carries the live hash beside the latest one; bad live records are counted
    (rejected.<reason>) and dropped."""
    symbol, other = unique_symbols(2)
    now = int(time.time() * 1000)
    second, minute = now - now % 1000, now - now % 60_000
    latest = {"1s": record(symbol, "1s", second - 1000, 3, 123.0, now - 900)}
    live = {"1s": provisional(symbol, "1s", second, 2, 123.4, now - 20),
            "1m": provisional(symbol, "1m", minute, 9, 123.4, now - 20)}
    redis.hset(LATEST_KEY_PREFIX + symbol, mapping={w: json.dumps(r) for w, r in latest.items()})
    redis.hset(LIVE_KEY_PREFIX + symbol, mapping={w: json.dumps(r) for w, r in live.items()})
    dashboard = services(DASHBOARD)
    dashboard.wait_running()
    url = f"http://127.0.0.1:{dashboard.port}"
    watcher, bystander = Client(url), Client(url)
    try:
        snapshot = watcher.subscribe(symbol)
        assert "error" not in snapshot, snapshot
        assert snapshot["latest"] == latest and snapshot["live"] == live
        assert bystander.subscribe(other)["live"] == {}

        forming = provisional(symbol, "1s", second, 3, 123.5, int(time.time() * 1000))
        redis.publish(LIVE_CHANNEL, json.dumps(forming))
        assert watcher.wait("live") == forming
        final = record(symbol, "1s", second, 3, 123.5, forming["last_trade_time"])
        redis.publish(ANALYTICS_CHANNEL, json.dumps(final))
        assert watcher.wait("analytics") == final
        # (a running platform's own live lane may publish on the channel too: counted as differences)
        before = dashboard.health()["counters"]
        bad = [b"not json", json.dumps({**forming, "window": "soon"}), json.dumps({**forming, "count": 0}),
               json.dumps({k: v for k, v in forming.items() if k != "close"}), json.dumps({**forming, "close": -1})]
        for value in bad:
            redis.publish(LIVE_CHANNEL, value)
        after = {**forming, "count": 4, "close": 123.6, "last_trade_time": forming["last_trade_time"] + 1}
        redis.publish(LIVE_CHANNEL, json.dumps(after))
        assert watcher.wait("live", lambda r: r["count"] == 4) == after
        assert watcher.received("live") == [forming, after], "nothing of the bad records"
        assert watcher.received("analytics") == [final], "live records are not analytics events"
        counters = dashboard.health()["counters"]
        assert counters["live.records"] - before.get("live.records", 0) >= 6 and counters["live.emitted"] >= 2
        assert counters["records"] >= 1 and counters["emitted"] >= 1
        rejected = {k: counters.get(k, 0) - before.get(k, 0) for k in counters if k.startswith("rejected.")}
        assert rejected == {"rejected.not_json": 1, "rejected.bad_window": 1, "rejected.bad_count": 1,
                            "rejected.missing_field": 1, "rejected.bad_price": 1}, rejected
        assert bystander.received("live") == [] and bystander.received("analytics") == [], \
            "records go only to the symbol's subscribers"
        assert dashboard.health()["status"] == "running"
        assert dashboard.terminate(30) == 0, dashboard.tail()
    finally:
        watcher.close()
        bystander.close()
        redis.delete(LATEST_KEY_PREFIX + symbol, LIVE_KEY_PREFIX + symbol)


def test_gevent_server_and_200_websocket_clients(services, redis):
    """Served by gevent's WSGI server (Flask-SocketIO's gevent mode, the Cassandra driver on
    its gevent reactor); 200 WebSocket clients connect at once, each receives the record
    published for its symbol; SIGTERM with all of them connected exits 0."""
    symbols = unique_symbols(10)
    dashboard = services(DASHBOARD)
    health = dashboard.wait_running()  # running: Redis subscribed and Cassandra connected
    assert health["async_mode"] == "gevent" and health["server"] == "gevent.pywsgi", health
    assert health["monkey_patched"] is True and health["cassandra_connection"] == "GeventConnection", health
    url = f"http://127.0.0.1:{dashboard.port}"
    started = time.monotonic()
    workers = Workers(url, symbols, clients=200, per_process=100, per_client=1, event="live")
    try:
        ready = workers.ready()
        print(f"200 clients connected and subscribed in {time.monotonic() - started:.1f}s")
        assert ready["connected"] == 200 and ready["failed"] == 0, ready
        assert dashboard.health()["clients"] == 200
        now = int(time.time() * 1000)
        for symbol in symbols:
            redis.publish(LIVE_CHANNEL, json.dumps(fanout_record(symbol, 1, now)))
        report = workers.report(1, 1, 20)
        assert report["missing_clients"] == 0 and len(report["latencies_ms"]) == 200, \
            {k: v for k, v in report.items() if k != "latencies_ms"}
        latencies = sorted(report["latencies_ms"])
        print(f"one record each to 200 clients: p50 {latencies[100]:.1f} ms, max {latencies[-1]:.1f} ms")
        assert dashboard.health()["counters"]["live.emitted"] >= 10
        assert dashboard.terminate(30) == 0, dashboard.tail()  # with the 200 still connected
    finally:
        workers.close()
    events = [line.get("event") for line in dashboard.lines()]
    assert events[-1] == "stopped"


def test_page_shows_the_record_with_the_greater_count_final_at_equal_count(services, redis):
    """In headless Chromium (tests/e2e/browser.py): the forming 1-minute candle follows the rule
    the Redis publisher's guard follows: the greater count wins, at equal count Spark's (final),
    a provisional record never replaces a final one of equal or greater count; marked as such."""
    import browser  # tests/e2e (pytest's pythonpath): playwright only for this test

    symbol = unique_symbols()[0]
    dashboard = services(DASHBOARD)
    dashboard.wait_running()
    now = int(time.time() * 1000)
    start = now - now % 60_000
    steps = [(5, True, ["provisional", "5"]), (5, False, ["final", "5"]), (5, True, ["final", "5"]),
             (6, True, ["provisional", "6"]), (4, False, ["provisional", "6"]), (7, False, ["final", "7"])]
    with browser.open(f"http://127.0.0.1:{dashboard.port}/?symbols={symbol}") as page:
        browser.wait_chart(page, symbol)
        page.wait_for_function("() => document.querySelector('#connection').dataset.state === 'connected'")
        time.sleep(1)  # the snapshot
        for n, (count, live, expected) in enumerate(steps):
            trade = now - 100 + n
            value = record(symbol, "1m", start, count, 100.0 + n, trade)
            if live:
                redis.publish(LIVE_CHANNEL, json.dumps({**value, "provisional": True, "published_at": trade + 2}))
            else:
                redis.publish(ANALYTICS_CHANNEL, json.dumps(value))
            page.wait_for_function("n => Number(document.querySelector('" + browser.card(symbol) +
                                   " .price').dataset.updates) >= n", arg=n + 1, timeout=10_000)
            shown = page.eval_on_selector(f"{browser.card(symbol)} .state", "e => [e.dataset.state, e.dataset.count]")
            assert shown == expected, (n, count, "live" if live else "spark", shown)
        assert browser.read_price(page, symbol)[0] == 105.0, "the price of the newest trade, whichever lane"
        assert page.eval_on_selector(f"{browser.card(symbol)} .latency-live", "e => e.dataset.latencyMs")
        assert page.eval_on_selector(f"{browser.card(symbol)} .latency", "e => e.dataset.latencyMs")
        assert not [line for line in page.console if line.startswith(("error", "pageerror"))], page.console
        assert not browser.foreign_requests(page)
