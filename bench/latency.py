"""Tick-to-browser latency of both lanes, each measured at every hop, never merged.

    .venv/bin/python -m bench.latency [--rate 10000] [--duration 120] [--warmup 60]
                                      [--stream-env KEY=VALUE ...]

Against the running one-node platform (container `bigdata`): the producer service
sends synthetic ticks of 50 bench-only symbols at --rate ticks/s (from this
machine). The bench runs its own copy of each consumer, as in their tests: the
stream processor on the Spark host (a fresh checkpoint, from the topic's end;
--stream-env adds or overrides its settings, e.g. BIGDATA_STREAM_TRIGGER_MS=500), the
Redis publisher, the live lane and the dashboard here (their own consumer groups,
their own port). A python-socketio client subscribes to the 50 symbols on the
dashboard and takes `now - last_trade_time` of every `live` and `analytics` event, as
the page does. The same measure is taken on the same records earlier in each path:

- the live lane: at its Redis channel (`stock-live`), at the browser (`live` events);
- the Spark lane: at the analytics Kafka topic (Spark's batches), at the Redis channel
  (`stock-analytics`, plus the publisher), at the browser (`analytics` events).

The platform's own stream processor, Redis publisher and live lane (the one-node
runtime's apps) are stopped for the run; its storage writers keep storing the
ticks, as in the pipeline. After --warmup seconds (Spark's first batches, JIT),
--duration seconds are kept. Targets (issue 11): live lane p50 <= 150 ms and
p99 <= 500 ms; Spark lane p50 <= 1.5 s and p99 <= 3 s. Takes the heavy-work lock itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import threading
import time
import uuid

from bench import platform
from services.core import clients
from shared import names

TARGETS_MS = {"live lane": {"p50": 150, "p99": 500}, "Spark lane": {"p50": 1500, "p99": 3000}}
STREAM_PORT = 18113  # the job's /health on the Spark host (the tests use 18013 and up)


class Clock:
    """Latencies (ms) of one observation point, once the warm-up is over."""

    def __init__(self, symbols):
        self.symbols = set(symbols)
        self.keep = False
        self.values: list[int] = []
        self.lock = threading.Lock()

    def see(self, record: dict) -> None:
        if self.keep and record.get("symbol") in self.symbols:
            latency = time.time_ns() // 1_000_000 - record["last_trade_time"]
            with self.lock:
                self.values.append(latency)

    def summary(self) -> dict:
        values = sorted(self.values)
        if not values:
            return {"count": 0}
        at = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        return {"count": len(values), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": values[-1],
                "mean": statistics.fmean(values)}


def watch_kafka(settings, clock: Clock, stop: threading.Event) -> None:
    from confluent_kafka import OFFSET_END, TopicPartition
    consumer = clients.kafka_consumer(settings, f"bench-latency-{uuid.uuid4().hex[:8]}",
                                      **{"fetch.wait.max.ms": 10})
    partitions = consumer.list_topics(names.ANALYTICS_TOPIC, timeout=10).topics[names.ANALYTICS_TOPIC].partitions
    consumer.assign([TopicPartition(names.ANALYTICS_TOPIC, p, OFFSET_END) for p in partitions])
    try:
        while not stop.is_set():
            for message in consumer.consume(500, timeout=0.2):
                if not message.error():
                    clock.see(json.loads(message.value()))
    finally:
        consumer.close()


def watch_redis(settings, clocks: dict, stop: threading.Event) -> None:
    """clocks: channel -> Clock."""
    redis = clients.redis_client(settings)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*clocks)
    try:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message:
                try:  # whatever else publishes there (a test's bad records) is not timed
                    record = json.loads(message["data"])
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("last_trade_time"), int):
                    clocks[message["channel"]].see(record)
    finally:
        pubsub.close()
        redis.close()


def browser(url: str, symbols, live: Clock, final: Clock):
    """A Socket.IO client like the page: subscribes to each symbol, times each live and
    analytics event."""
    import socketio
    client = socketio.Client(reconnection=True)
    client.on("live", live.see)
    client.on("analytics", final.see)
    client.connect(url, transports=["websocket"], wait_timeout=30)
    for symbol in symbols:
        reply = client.call("subscribe", {"symbol": symbol}, timeout=30)
        if not reply or reply.get("error"):
            raise SystemExit(f"the dashboard refused {symbol}: {reply}")
    return client


def line(name: str, summary: dict, reference: dict | None = None, ref_name: str = "") -> str:
    if not summary.get("count"):
        return f"  {name:<22} no records"
    text = (f"  {name:<22} p50 {summary['p50']:>5} ms  p90 {summary['p90']:>5} ms  p99 {summary['p99']:>5} ms  "
            f"max {summary['max']:>5} ms  ({summary['count']:,} records)")
    if reference and reference.get("count"):
        text += f"  p50 = {summary['p50'] / reference['p50']:.2f} of the {ref_name}'s"
    return text


POINTS = {  # lane -> its observation points, in path order
    "live lane": ("Redis channel", "browser"),
    "Spark lane": ("analytics Kafka topic", "Redis channel", "browser"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10_000, help="ticks/s the producer sends")
    parser.add_argument("--duration", type=float, default=120, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=60,
                        help="seconds discarded first (Spark's first batch compiles for ~10 s; the backlog it "
                             "leaves must be worked off)")
    parser.add_argument("--stream-env", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the stream processor for this run (repeatable)")
    args, backends = platform.arguments(parser)
    settings = backends.settings
    work = platform.run_dir("latency")
    run = uuid.uuid4().hex[:6].upper()
    symbols = [f"BL{run}{i:02d}" for i in range(50)]
    stream_env = dict(item.split("=", 1) for item in args.stream_env)
    clocks = {(lane, point): Clock(symbols) for lane, points in POINTS.items() for point in points}
    stop = threading.Event()
    batches: list[dict] = []
    # the bench runs its own copies of these (the platform's storage writers keep working, as they would)
    with platform.heavy_lock(), platform.paused_apps(backends, "stream-processor", "redis-publisher", "live-lane"):
        kafka = platform.Kafka(settings)
        common = {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"}
        platform.servicekit.install(backends.container)
        job = platform.servicekit.stream_job(backends, f"bench-latency-{run}", work / "stream-processor.log",
                                             STREAM_PORT, BIGDATA_STREAM_STARTING_OFFSETS="latest",
                                             **stream_env)
        group = f"{names.PUBLISHER_GROUP}-bench-{run.lower()}"
        kafka.start_group_at_end(group, names.ANALYTICS_TOPIC)
        publisher = platform.ServiceProcess("services.redis_publisher", {**common, "BIGDATA_PUBLISHER_GROUP": group},
                                            work / "redis-publisher.log")
        lane = platform.ServiceProcess("services.live_lane", {**common, "BIGDATA_LANE_GROUP": f"{names.LIVE_GROUP}-bench-{run}"},
                                       work / "live-lane.log")
        dashboard = platform.ServiceProcess("services.dashboard", common, work / "dashboard.log")
        producer = platform.ServiceProcess(
            "services.producer", {**common, "BIGDATA_PRODUCER_RATE": str(args.rate),
                                  "BIGDATA_PRODUCER_SYMBOLS": ",".join(symbols)}, work / "producer.log")
        redis_clocks = {names.LIVE_CHANNEL: clocks[("live lane", "Redis channel")],
                        names.ANALYTICS_CHANNEL: clocks[("Spark lane", "Redis channel")]}
        watchers = [threading.Thread(target=watch_kafka, args=(settings, clocks[("Spark lane", "analytics Kafka topic")],
                                                               stop), daemon=True),
                    threading.Thread(target=watch_redis, args=(settings, redis_clocks, stop), daemon=True)]
        client = None
        try:
            job.start().wait_ready(180)
            publisher.start().wait_running(60)
            lane.start().wait_for(lambda h: h.get("assigned_partitions"), 60, "the live lane's partitions")
            dashboard.start().wait_running(120)
            client = browser(f"http://127.0.0.1:{dashboard.port}", symbols, clocks[("live lane", "browser")],
                             clocks[("Spark lane", "browser")])
            for watcher in watchers:
                watcher.start()
            producer.start().wait_running(60)
            print(f"warming up {args.warmup:.0f} s, then measuring {args.duration:.0f} s at {args.rate:,.0f} ticks/s "
                  f"({platform.load()})", flush=True)
            time.sleep(args.warmup)
            for clock in clocks.values():
                clock.keep = True
            load_start = platform.load()
            behind_start = (job.health().get("last_batch") or {}).get("offsets_behind_latest")
            lane_start = lane.health().get("lag")
            end = time.monotonic() + args.duration
            last_batch = None
            while time.monotonic() < end:
                batch = job.health().get("last_batch") or {}
                if batch.get("batch_id") != last_batch:
                    last_batch = batch.get("batch_id")
                    batches.append(batch)
                time.sleep(0.5)
            for clock in clocks.values():
                clock.keep = False
            load_end = platform.load()
            behind_end = (job.health().get("last_batch") or {}).get("offsets_behind_latest")
            lane_end = lane.health().get("lag")
            sent = producer.health().get("acked", 0)
        finally:
            stop.set()
            if client is not None:
                client.disconnect()
            for process in (producer, dashboard, lane, publisher):
                process.stop_quietly()
            job.stop_quietly()
            subprocess.run(["docker", "exec", backends.container, "rm", "-rf", job.env["BIGDATA_STREAM_CHECKPOINT"]])
            redis = clients.redis_client(settings)
            redis.delete(*[prefix + symbol for symbol in symbols
                           for prefix in (names.LATEST_KEY_PREFIX, names.LIVE_KEY_PREFIX)])
            redis.close()
            kafka.close()

    summaries = {key: clock.summary() for key, clock in clocks.items()}
    durations = [b["batch_duration_ms"] for b in batches if b.get("batch_duration_ms") is not None]
    records = [b["records"] for b in batches if b.get("records") is not None]
    print(f"\ntick-to-browser latency (now - last_trade_time), {args.rate:,.0f} ticks/s of 50 symbols, "
          f"{args.duration:.0f} s after {args.warmup:.0f} s warm-up ({sent:,} ticks sent):")
    if stream_env:
        print(f"  stream processor settings: {stream_env}")
    for lane_name, points in POINTS.items():
        at_browser = summaries[(lane_name, "browser")]
        print(f" {lane_name}:")
        print(line("browser (Socket.IO)", at_browser))
        for point in reversed(points[:-1]):
            print(line(point, summaries[(lane_name, point)], at_browser, "browser"))
        targets = TARGETS_MS[lane_name]
        if at_browser.get("count"):
            met = all(at_browser[q] <= limit for q, limit in targets.items())
            print(f"  target at the browser: p50 <= {targets['p50']} ms, p99 <= {targets['p99']} ms -> "
                  f"{'met' if met else 'NOT met'}")
    print(f"  live lane's Kafka lag: {lane_start} at the start, {lane_end} at the end")
    if durations:
        print(f"  Spark micro-batches: {len(durations)} seen, duration p50 {statistics.median(durations):.0f} ms, "
              f"max {max(durations)} ms; records per batch p50 {statistics.median(records):.0f}; "
              f"Kafka lag of the job {behind_start} at the start, {behind_end} at the end")
        phases = {}
        for batch in batches:
            for phase, ms in (batch.get("duration_ms") or {}).items():
                phases.setdefault(phase, []).append(ms)
        print("  batch phases (p50 ms): " + ", ".join(f"{phase} {statistics.median(ms):.0f}"
                                                      for phase, ms in sorted(phases.items())))
    print(f"  load: {load_start} at the start, {load_end} at the end")
    print(f"\nlogs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
