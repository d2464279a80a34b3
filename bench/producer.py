"""The producer's throughput against Kafka's own producer tool, side by side.

    .venv/bin/python -m bench.producer [--count 1000000] [--rounds 3] [--kafka-python-count 100000]

Against the running one-node platform (container `bigdata`, secrets from
inventories/secrets.env), from this machine, on a throwaway topic made like
stock-ticks (partitions, replicas, min.insync.replicas) and deleted afterwards,
as the pipeline's SASL/SCRAM user, acks=all, idempotent, lz4, linger 5 ms:

- ours: the producer service's own code (services/producer: the synthetic source
  at rate 0 = as fast as it can, JSON, produce, a delivery report per tick), from
  its first send until the last acknowledgement;
- reference: Kafka's `org.apache.kafka.tools.ProducerPerformance`
  (kafka-producer-perf-test.sh, from the mirror's Kafka distribution), sending
  the very ticks ours sent (read back from the topic) with the same settings.

Then the Python clients on the same ticks: confluent-kafka (what the services use)
against kafka-python. Takes the heavy-work lock itself.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid

from bench import platform
from deploys.kafka import users
from services.core import clients
from services.core.service import Service
from services.core.settings import Settings
from services.producer.app import Producer
from services.producer.sources import make_source

PAYLOADS = 10_000  # distinct ticks ProducerPerformance picks from


def ours(settings: Settings, topic: str, count: int) -> dict:
    """The producer service's run loop, in this process, on the bench topic."""
    settings = settings.replace(producer_rate=0.0, producer_max_ticks=count, log_level="WARNING")
    producer = Producer(Service("producer", settings, 0), make_source(settings), uuid.uuid4().hex[:12], topic)
    producer.connect()  # the SASL handshake and metadata before the clock starts
    start = time.perf_counter()
    code = producer.run()
    elapsed = time.perf_counter() - start
    if code or producer.acked != count:
        raise SystemExit(f"the producer failed: exit {code}, {producer.acked} of {count} acknowledged")
    return {"messages": count, "seconds": elapsed, "messages_per_s": count / elapsed}


def sent_ticks(kafka: platform.Kafka, topic: str, count: int) -> list:
    """(key, value) of `count` ticks the producer sent, read back from the topic."""
    ends = kafka.end_offsets(topic)
    per_partition = count // len(ends) + 1
    since = {p: max(0, end - per_partition) for p, end in ends.items()}
    return [(m.key(), m.value()) for m in kafka.read(topic, since, ends)][:count]


def producer_performance(backends, topic: str, count: int, payload_file, work) -> dict:
    settings = backends.settings
    properties = platform.java_client_properties(backends, work / "client.properties", users.user("producer"))
    out = platform.kafka_tool(
        "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(count), "--throughput", "-1",
        "--payload-file", str(payload_file), "--payload-delimiter", "\n",
        "--command-config", str(properties),
        "--command-property", f"bootstrap.servers={settings.kafka_bootstrap}", "acks=all",
        "enable.idempotence=true", "compression.type=lz4", f"linger.ms={settings.producer_linger_ms}",
        "batch.size=1000000",
        log=work / f"producer-perf-{time.time_ns()}.log")
    # last line: "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, ..."
    total = next(line for line in reversed(out.splitlines()) if "records sent" in line)
    sent, per_s, mb_per_s = platform.numbers(total)[:3]
    return {"messages": int(sent), "messages_per_s": per_s, "mb_per_s": mb_per_s, "line": total}


def confluent(settings: Settings, topic: str, ticks) -> float:
    """The bare confluent-kafka loop (the services' client, their settings): messages/s."""
    producer = clients.kafka_producer(settings)
    producer.list_topics(topic, timeout=10)
    produce, poll = producer.produce, producer.poll
    start = time.perf_counter()
    for n, (key, value) in enumerate(ticks):
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:
                poll(0.01)
        if n % 1000 == 0:
            poll(0)
    if producer.flush(60):
        raise SystemExit("confluent-kafka: messages left unacknowledged")
    return len(ticks) / (time.perf_counter() - start)


def kafka_python(settings: Settings, topic: str, ticks) -> float:
    """kafka-python with the same settings (no lz4 codec without an extra package)."""
    from kafka import KafkaProducer
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap.split(","), security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_user,
        sasl_plain_password=settings.require("kafka_password"), acks="all", enable_idempotence=True,
        ssl_cafile=settings.tls_ca_file if settings.kafka_tls() else None,
        linger_ms=settings.producer_linger_ms, batch_size=1_000_000)
    producer.partitions_for(topic)
    start = time.perf_counter()
    send = producer.send
    for key, value in ticks:
        send(topic, value=value, key=key)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    producer.close()
    return len(ticks) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="messages per run (each tool, each round)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of ours and the reference")
    parser.add_argument("--kafka-python-count", type=int, default=100_000,
                        help="messages for the Python client comparison; 0 skips it")
    args, backends = platform.arguments(parser)
    work = platform.run_dir("producer")
    platform.kafka_home()
    settings = backends.service_settings("services.producer")  # as the producer's Kafka user
    with platform.heavy_lock(), platform.bench_topic(backends) as topic:
        kafka = platform.Kafka(backends.settings)
        rows = []
        payload_file = work / "ticks.jsonl"
        for round_ in range(1, args.rounds + 1):
            load_before = platform.load()
            mine = ours(settings, topic, args.count)
            if round_ == 1:
                ticks = sent_ticks(kafka, topic, PAYLOADS)
                size = statistics.fmean(len(value) for _, value in ticks)
                payload_file.write_bytes(b"\n".join(value for _, value in ticks))
            mine["mb_per_s"] = platform.mb(mine["messages_per_s"] * size)
            mine["load"] = load_before
            load_before = platform.load()
            reference = producer_performance(backends, topic, args.count, payload_file, work)
            reference["load"] = load_before
            rows.append((mine, reference))
            print(f"round {round_}: ours {mine['messages_per_s']:,.0f} msg/s; "
                  f"ProducerPerformance {reference['messages_per_s']:,.0f} msg/s", flush=True)
        clients_row = None
        if args.kafka_python_count:
            sample = (ticks * (args.kafka_python_count // len(ticks) + 1))[:args.kafka_python_count]
            load_before = platform.load()
            clients_row = (confluent(settings, topic, sample), kafka_python(settings, topic, sample),
                           load_before)
        kafka.close()

    mine = [r[0] for r in rows]
    reference = [r[1] for r in rows]
    print(f"\nproducer throughput, {args.count:,} ticks of {size:.0f} bytes (mean JSON) per run, acks=all, lz4, "
          f"SASL/SCRAM user producer, {args.rounds} rounds each:")
    print("  ours = the producer service's run loop; reference = Kafka's ProducerPerformance (Java 17)")
    for label, pick in (("best", max), ("median", statistics.median)):
        print(platform.ratio_line(f"msg/s, {label}", pick(r["messages_per_s"] for r in mine),
                                  pick(r["messages_per_s"] for r in reference), "msg/s"))
        print(platform.ratio_line(f"MB/s, {label}", pick(r["mb_per_s"] for r in mine),
                                  pick(r["mb_per_s"] for r in reference), "MB/s"))
    median_mine = statistics.median(r["messages_per_s"] for r in mine)
    ratio = median_mine / statistics.median(r["messages_per_s"] for r in reference)
    print(f"  target (medians): ratio >= 0.5 and >= 200,000 msg/s -> "
          f"{'met' if ratio >= 0.5 and median_mine >= 200_000 else 'NOT met'}")
    for number, (m, r) in enumerate(rows, 1):
        print(f"  round {number}: ours {m['messages_per_s']:,.0f} msg/s ({m['load']} before), "
              f"reference {r['messages_per_s']:,.0f} msg/s ({r['load']} before)")
    if clients_row:
        fast, slow, load = clients_row
        print(f"\nPython clients, the same {args.kafka_python_count:,} ticks, bare send loop ({load} before):")
        print(platform.ratio_line("messages/s", slow, fast, "msg/s", ("kafka-python", "confluent-kafka")))
    print(f"\nlogs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
