"""The storage writer's sustained rows/s and consumer lag, beside two references.

    .venv/bin/python -m bench.writer [--duration 300] [--rate 10000] [--reference-rows 200000]

Against the running one-node platform (container `bigdata`), from this machine:
the producer service sends synthetic ticks of 50 bench-only symbols to stock-ticks
at --rate ticks/s for --duration seconds, while the storage writer service (its
own consumer group, started at the topic's end) validates them and upserts them
into Cassandra. Every 10 s: rows stored (the writer's counter) and its lag
(records in stock-ticks not yet committed by its group). The writer reads only
stock-ticks (the service's contract), so the bench writes there; its symbols'
Cassandra rows are deleted at the end, the Kafka records age out with the topic's
retention.

The platform's own storage writers and stream processor (its Swarm services, when
`./bigdata up` started them) are scaled to 0 for the run and back after it: they would store and analyse the same ticks on the same two cores.

References, on the same records, in the same run:
- Kafka's `org.apache.kafka.tools.ConsumerPerformance` reading the run's records
  (a group placed at the run's first offsets): how fast the input can be read;
- the bare cassandra-driver inserting --reference-rows of the run's ticks with the
  writer's statement, consistency and concurrency from one Python process: how
  fast Cassandra takes them from a client like the writer, without Kafka,
  validation and commits.

(cassandra-stress would be the better Cassandra reference, but it is not on Maven
Central: the Cassandra distribution ships it in tools/, and the mirror builds
Cassandra from Maven Central. Takes the heavy-work lock itself.)
"""
from __future__ import annotations

import argparse
import time
import uuid

from bench import platform
from deploys.kafka import users
from services.core import clients
from shared import names
from services.core.consume import record_time
from services.core.tick import Rules, validate
from services.storage_writer.app import INSERT

SAMPLE_S = 10


def bench_symbols(count: int = 50) -> list[str]:
    run = uuid.uuid4().hex[:6].upper()
    return [f"BW{run}{i:02d}" for i in range(count)]


def lag(kafka: platform.Kafka, group: str) -> int:
    ends = kafka.end_offsets(names.TICKS_TOPIC)
    committed = kafka.committed(group, names.TICKS_TOPIC)
    return sum(end - max(committed.get(p, 0), 0) for p, end in ends.items())


def consumer_performance(backends, group: str, start: dict, messages: int, work) -> dict:
    """Kafka's consumer tool reading `messages` records from `start` (a group placed there)."""
    from confluent_kafka import TopicPartition
    consumer = clients.kafka_consumer(backends.settings, group)
    consumer.commit(offsets=[TopicPartition(names.TICKS_TOPIC, p, o) for p, o in start.items()], asynchronous=False)
    consumer.close()
    properties = platform.java_client_properties(backends, work / "client.properties",
                                                 users.user("storage-writer"))
    out = platform.kafka_tool(
        "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", backends.settings.kafka_bootstrap,
        "--topic", names.TICKS_TOPIC, "--group", group, "--num-records", str(messages),
        "--command-config", str(properties), "--timeout", "60000", "--hide-header",
        log=work / "consumer-perf.log")
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
    # fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    fields = out.strip().splitlines()[-1].split(",")
    return {"messages": int(fields[4]), "mb_per_s": float(fields[3]), "messages_per_s": float(fields[5]),
            "fetch_messages_per_s": float(fields[9]), "line": out.strip().splitlines()[-1]}


def raw_inserts(backends, records, concurrency: int, batch_concurrency: int) -> tuple[float, float]:
    """The writer's INSERT of these ticks with the bare driver, rows/s: one statement a
    row (as the writer does), then as unlogged batches of up to 100 rows of one
    partition (what Cassandra takes when the client's per-request cost is spread)."""
    from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args
    from cassandra.query import BatchStatement, BatchType
    rules = Rules.from_settings(backends.settings)
    ticks = [validate(m.value(), rules, record_time(m), key=m.key()) for m in records]
    rows = [(t.symbol, t.day, t.trade_time, t.id, t.price, t.currency, t.volume, t.source) for t in ticks]
    session = clients.cassandra_session(backends.settings)
    try:
        statement = session.prepare(INSERT)
        start = time.perf_counter()
        results = execute_concurrent_with_args(session, statement, rows, concurrency=concurrency,
                                               raise_on_first_error=True)
        single = len(rows) / (time.perf_counter() - start)
        assert all(ok for ok, _ in results)
        partitions: dict[tuple, list] = {}
        for row in rows:
            partitions.setdefault(row[:2], []).append(row)
        batches = []
        for members in partitions.values():
            for first in range(0, len(members), 100):
                batch = BatchStatement(BatchType.UNLOGGED)
                for row in members[first:first + 100]:
                    batch.add(statement, row)
                batches.append((batch, None))
        start = time.perf_counter()
        results = execute_concurrent(session, batches, concurrency=batch_concurrency, raise_on_first_error=True)
        batched = len(rows) / (time.perf_counter() - start)
        assert all(ok for ok, _ in results)
    finally:
        session.cluster.shutdown()
    return single, batched


def delete_rows(backends, symbols) -> None:
    session = clients.cassandra_session(backends.settings)
    try:
        delete = session.prepare(f"DELETE FROM {names.KEYSPACE}.{names.TICKS_TABLE} WHERE symbol = ? AND day = ?")
        for symbol in symbols:
            for day in platform.servicekit.days_around_now():
                session.execute(delete, (symbol, day))
    finally:
        session.cluster.shutdown()


def run_writer(backends, args, symbols, group, work) -> list[tuple]:
    """The producer at the offered rate and the writer, sampled every SAMPLE_S seconds:
    (seconds, sent, stored, lag, load)."""
    kafka = platform.Kafka(backends.settings)
    samples = []
    common = {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"}
    writer = platform.ServiceProcess("services.storage_writer", {**common, "BIGDATA_WRITER_GROUP": group},
                                     work / "storage-writer.log").start()
    producer = platform.ServiceProcess(
        "services.producer", {**common, "BIGDATA_PRODUCER_RATE": str(args.rate),
                              "BIGDATA_PRODUCER_SYMBOLS": ",".join(symbols)}, work / "producer.log")
    try:
        writer.wait_for(lambda h: h.get("assigned_partitions"), 120, "partitions assigned")
        producer.start().wait_running(60)
        begin = time.monotonic()
        stored0 = writer.health()["counters"].get("stored", 0)
        while (elapsed := time.monotonic() - begin) < args.duration:
            time.sleep(min(SAMPLE_S, args.duration - elapsed))
            stored = writer.health()["counters"].get("stored", 0) - stored0
            sent = producer.health().get("acked", 0)
            samples.append((time.monotonic() - begin, sent, stored, lag(kafka, group), platform.load()))
            t, sent, stored, behind, load = samples[-1]
            print(f"  {t:6.0f} s: sent {sent:>10,}  stored {stored:>10,}  lag {behind:>9,}  {load}", flush=True)
        assert producer.terminate() == 0, producer.tail()
        assert writer.terminate() == 0, writer.tail()
    finally:
        producer.stop_quietly()
        writer.stop_quietly()
        kafka.close()
    return samples


def report_writer(args, samples) -> float:
    """Print the writer's figures; its rows/s over the second half (past the start-up)."""
    duration, sent, stored, _, _ = samples[-1]
    half = next(s for s in samples if s[0] >= duration / 2)
    second_half = (stored - half[2]) / (duration - half[0])
    lags = [s[3] for s in samples]
    slack = max(10_000, 2 * args.rate)  # a couple of seconds' worth is no sign of falling behind
    print(f"\nstorage writer, {duration:.0f} s with {args.rate:,.0f} ticks/s offered ({sent:,} sent, {stored:,} stored):")
    print(f"  rows/s: {stored / duration:,.0f} over the whole run, {second_half:,.0f} over the second half")
    print(f"  consumer lag (records): max {max(lags):,}; at half time {half[3]:,}, at the end {lags[-1]:,} -> "
          f"{'keeps up' if lags[-1] <= slack else 'falls behind the offered rate'}")
    print(f"  load during the run: {samples[0][4]} ... {samples[-1][4]}", flush=True)
    return second_half


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of producing (default 300)")
    parser.add_argument("--rate", type=float, default=10_000,
                        help="ticks/s the producer sends (0: unthrottled); 10,000 is the pipeline's design rate")
    parser.add_argument("--reference-rows", type=int, default=200_000, help="rows the bare driver inserts")
    parser.add_argument("--batch-concurrency", type=int, default=8,
                        help="batches in flight for the batched reference (more overloads the connection)")
    args, backends = platform.arguments(parser)
    work = platform.run_dir("writer")
    platform.kafka_home()
    symbols = bench_symbols()
    group = f"{names.WRITER_GROUP}-bench-{uuid.uuid4().hex[:8]}"  # its user's ACLs allow these
    with platform.heavy_lock(), platform.paused_apps(backends, "storage-writer", "stream-processor"):
        kafka = platform.Kafka(backends.settings)
        start_offsets = kafka.start_group_at_end(group, names.TICKS_TOPIC)
        try:
            samples = run_writer(backends, args, symbols, group, work)
            writer_rate = report_writer(args, samples)

            ends = kafka.end_offsets(names.TICKS_TOPIC)
            records_in_run = sum(ends[p] - start_offsets.get(p, 0) for p in ends)
            read_load = platform.load()
            reading = consumer_performance(backends, f"bench-read-{uuid.uuid4().hex[:8]}", start_offsets,
                                           records_in_run, work)
            per_partition = args.reference_rows // len(ends) + 1
            until = {p: min(ends[p], start_offsets.get(p, 0) + per_partition) for p in ends}
            ours = {symbol.encode() for symbol in symbols}
            sample = [m for m in kafka.read(names.TICKS_TOPIC, start_offsets, until, timeout=120) if m.key() in ours]
            insert_load = platform.load()
            single, batched = raw_inserts(backends, sample, backends.settings.writer_concurrency,
                                          args.batch_concurrency)
        finally:
            kafka.close()
            delete_rows(backends, symbols)

    settings = backends.settings
    print("\nreferences on the run's records (second-half writer rate against each):")
    print(platform.ratio_line("vs reading", writer_rate, reading["messages_per_s"], "rec/s",
                              ("writer", "ConsumerPerformance")))
    print(f"      ConsumerPerformance: {reading['messages']:,} records, {reading['mb_per_s']:.1f} MB/s ({read_load} before)")
    print(platform.ratio_line("vs bare inserts", writer_rate, single, "rows/s", ("writer", "bare driver")))
    print(platform.ratio_line("vs batched inserts", writer_rate, batched, "rows/s",
                              ("writer", "bare driver, batched")))
    print(f"      bare driver: {len(sample):,} of the run's ticks, the writer's INSERT, {settings.cassandra_consistency}, "
          f"{settings.writer_concurrency} statements or {args.batch_concurrency} unlogged batches of <= 100 rows "
          f"of one partition in flight ({insert_load} before)")
    print(f"\nlogs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
