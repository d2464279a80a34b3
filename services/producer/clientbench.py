"""A quick measurement of the producer's hot path with both Python Kafka clients,
against the configured brokers (same settings as the producer: acks=all,
idempotence, SASL/SCRAM; same tick JSON and key). bench/ does the full job.

    python -m services.producer.clientbench --count 200000 [--topic stock-ticks]

It prints one JSON line per client: messages/s from the first send until every
message is acknowledged.
"""
from __future__ import annotations

import argparse
import json
import time

from services.core import clients, names
from services.core.settings import Settings
from services.producer.sources import SyntheticSource


def quotes(count: int):
    source = SyntheticSource([f"B{i:03d}" for i in range(50)], rate=0, seed=7)
    out = []
    while len(out) < count:
        out.extend(source.due(time.monotonic()))
    return out[:count]


def values(count: int, run: str):
    return [(s, f'{{"id":"synthetic-{run}-{i}","symbol":"{s}","price":{p!r},"currency":"USD",'
                f'"trade_time":{t},"volume":{v},"source":"synthetic"}}')
            for i, (s, p, v, t) in enumerate(quotes(count))]


def confluent(settings: Settings, topic: str, batch, compression: str) -> dict:
    acked = [0]

    def delivered(error, message):
        if error is None:
            acked[0] += 1

    producer = clients.kafka_producer(settings, **{"compression.type": compression, "on_delivery": delivered})
    producer.list_topics(topic, timeout=10)
    produce, poll = producer.produce, producer.poll
    start = time.perf_counter()
    for n, (key, value) in enumerate(batch):
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:
                poll(0.01)
        if n % 1000 == 0:
            poll(0)
    remaining = producer.flush(60)
    elapsed = time.perf_counter() - start
    return {"client": f"confluent-kafka (compression {compression})", "messages": len(batch), "acked": acked[0],
            "unflushed": remaining, "seconds": round(elapsed, 2), "messages_per_s": round(len(batch) / elapsed)}


def kafka_python(settings: Settings, topic: str, batch, compression: str | None) -> dict:
    from kafka import KafkaProducer
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap.split(","), security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_user,
        sasl_plain_password=settings.require("kafka_password"), acks="all", enable_idempotence=True,
        linger_ms=settings.producer_linger_ms, batch_size=1_000_000, compression_type=compression)
    producer.partitions_for(topic)
    acked = [0]

    def ok(_):
        acked[0] += 1

    start = time.perf_counter()
    send = producer.send
    for key, value in batch:
        send(topic, value=value.encode(), key=key.encode()).add_callback(ok)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    producer.close()
    return {"client": f"kafka-python (compression {compression})", "messages": len(batch), "acked": acked[0],
            "seconds": round(elapsed, 2), "messages_per_s": round(len(batch) / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--topic", default=names.TICKS_TOPIC)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env()
    batch = values(args.count, f"bench{int(time.time())}")
    for _ in range(args.rounds):
        for run in (lambda: confluent(settings, args.topic, batch, "lz4"),
                    lambda: confluent(settings, args.topic, batch, "none"),
                    lambda: kafka_python(settings, args.topic, batch, None)):
            print(json.dumps(run()), flush=True)


if __name__ == "__main__":
    main()
