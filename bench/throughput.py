"""The highest tick rate a consumer keeps up with: the offered rate stepped up until
its Kafka lag stops being flat, beside Kafka's ConsumerPerformance on the same records.

    .venv/bin/python -m bench.throughput --consumer {writer,spark,lane}
                                         [--rates 10000,20000,30000,50000] [--step 300]

Against the running one-node platform (container `bigdata`) with the whole pipeline
running: the platform's own copy of the measured consumer is stopped for the run and
the bench runs its own (its own consumer group or checkpoint, from the topic's end),
as in the services' tests; every other app keeps working on the same ticks (storage
writers, stream processor, live lane, publisher, dashboard). The producer service
sends synthetic ticks of 50 bench-only symbols at each rate of --rates for --step
seconds; the consumer's lag is sampled every 10 s:

- writer: records not yet committed by its group;
- lane:   records not yet read (its /health `lag`);
- spark:  the source's offsets behind the latest at the last micro-batch
          (`maxOffsetsBehindLatest`, the largest partition's).

A step is **kept up with** when the lag at its end is no more than the larger of the
lag a third into it and two seconds of the offered rate (a consumer that keeps up
holds its lag flat; one that does not gains lag all along). The steps stop at the
first one not kept up with. The reference: ConsumerPerformance reading every record
the run produced (the same records), as fast as Kafka hands them out.
Issue 11's targets on the one node: the Spark job >= 20,000 ticks/s, the writer
>= 30,000 rows/s. Takes the heavy-work lock itself.
"""
from __future__ import annotations

import argparse
import subprocess
import time
import uuid

from bench import platform
from bench.writer import consumer_performance, delete_rows, lag as committed_lag
from services.core import clients
from shared import names

SAMPLE_S = 10
STREAM_PORT = 18114
APPS = {"writer": ("storage-writer",), "spark": ("stream-processor",), "lane": ("live-lane",)}


class Consumer:
    """The measured consumer: start(), lag(), stop()."""

    def __init__(self, kind: str, backends, work, run: str):
        self.kind, self.backends, self.work = kind, backends, work
        common = {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"}
        # a name its user's ACLs allow (deploys/kafka/users.py)
        self.group = f"{names.LIVE_GROUP if kind == 'lane' else names.WRITER_GROUP}-bench-{run}"
        self.kafka = platform.Kafka(backends.settings)
        if kind == "writer":
            self.kafka.start_group_at_end(self.group, names.TICKS_TOPIC)
            self.process = platform.ServiceProcess("services.storage_writer",
                                                   {**common, "BIGDATA_WRITER_GROUP": self.group},
                                                   work / "storage-writer.log")
        elif kind == "lane":
            self.process = platform.ServiceProcess("services.live_lane", {**common, "BIGDATA_LANE_GROUP": self.group},
                                                   work / "live-lane.log")
        else:
            platform.servicekit.install(backends.container)
            self.process = platform.servicekit.stream_job(backends, f"bench-throughput-{run}",
                                                          work / "stream-processor.log", STREAM_PORT,
                                                          BIGDATA_STREAM_STARTING_OFFSETS="latest")

    def start(self) -> None:
        self.process.start()
        if self.kind == "spark":
            self.process.wait_ready(180)
        else:
            self.process.wait_for(lambda h: h.get("assigned_partitions"), 120, "partitions assigned")

    def lag(self) -> int:
        if self.kind == "writer":
            return committed_lag(self.kafka, self.group)
        if self.kind == "lane":
            return int(self.process.health().get("lag") or 0)
        return int((self.process.health().get("last_batch") or {}).get("offsets_behind_latest") or 0)

    def stop(self) -> None:
        self.process.stop_quietly()
        if self.kind == "spark":
            subprocess.run(["docker", "exec", self.backends.container, "rm", "-rf",
                            self.process.env["BIGDATA_STREAM_CHECKPOINT"]])
        self.kafka.close()


def step(backends, consumer: Consumer, rate: float, seconds: float, symbols, work) -> dict:
    """One offered rate for `seconds`: lag samples, and whether it stayed flat."""
    common = {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"}
    producer = platform.ServiceProcess(
        "services.producer", {**common, "BIGDATA_PRODUCER_RATE": str(rate),
                              "BIGDATA_PRODUCER_SYMBOLS": ",".join(symbols)}, work / f"producer-{rate:.0f}.log")
    samples = []
    try:
        producer.start().wait_running(60)
        begin = time.monotonic()
        while (elapsed := time.monotonic() - begin) < seconds:
            time.sleep(min(SAMPLE_S, seconds - elapsed))
            samples.append((time.monotonic() - begin, consumer.lag(), producer.health().get("acked", 0)))
            t, behind, sent = samples[-1]
            print(f"  {rate:>9,.0f}/s {t:5.0f} s: lag {behind:>9,}  sent {sent:>11,}  {platform.load()}", flush=True)
        sent = producer.health().get("acked", 0)
        assert producer.terminate() == 0, producer.tail()
    finally:
        producer.stop_quietly()
    third = next(s for s in samples if s[0] >= seconds / 3)
    slack = 2 * rate
    flat = samples[-1][1] <= max(third[1], slack)
    return {"rate": rate, "sent": sent, "achieved": sent / seconds, "lag_third": third[1],
            "lag_end": samples[-1][1], "flat": flat}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consumer", choices=sorted(APPS), required=True)
    parser.add_argument("--rates", default="10000,20000,30000,50000", help="offered ticks/s, comma-separated")
    parser.add_argument("--step", type=float, default=300, help="seconds per rate (issue 11: 300)")
    args, backends = platform.arguments(parser)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    work = platform.run_dir(f"throughput-{args.consumer}")
    platform.kafka_home()
    run = uuid.uuid4().hex[:6].lower()
    symbols = [f"BT{run.upper()}{i:02d}" for i in range(50)]
    results = []
    with platform.heavy_lock(), platform.paused_apps(backends, *APPS[args.consumer]):
        kafka = platform.Kafka(backends.settings)
        start_offsets = kafka.end_offsets(names.TICKS_TOPIC)
        consumer = Consumer(args.consumer, backends, work, run)
        try:
            consumer.start()
            print(f"{args.consumer}: stepping {', '.join(f'{r:,.0f}' for r in rates)} ticks/s, {args.step:.0f} s each "
                  f"({platform.load()})", flush=True)
            for rate in rates:
                results.append(step(backends, consumer, rate, args.step, symbols, work))
                if not results[-1]["flat"]:
                    break
        finally:
            consumer.stop()
        ends = kafka.end_offsets(names.TICKS_TOPIC)
        produced = sum(ends[p] - start_offsets.get(p, 0) for p in ends)
        reading = consumer_performance(backends, f"bench-read-{run}", start_offsets, produced, work)
        kafka.close()
        delete_rows(backends, symbols)  # the platform's writers stored them
        redis = clients.redis_client(backends.settings)
        redis.delete(*[prefix + s for s in symbols for prefix in (names.LATEST_KEY_PREFIX, names.LIVE_KEY_PREFIX)])
        redis.close()

    kept = [r for r in results if r["flat"]]
    print(f"\n{args.consumer}, whole pipeline running, {args.step:.0f} s per step:")
    for r in results:
        print(f"  offered {r['rate']:>9,.0f}/s  sent {r['achieved']:>9,.0f}/s  lag {r['lag_third']:>9,} at a third, "
              f"{r['lag_end']:>9,} at the end -> {'kept up' if r['flat'] else 'FALLS BEHIND'}")
    sustained = kept[-1]["achieved"] if kept else 0.0
    print(f"  sustained: {sustained:,.0f} ticks/s"
          + ("" if len(kept) < len(rates) else " (the highest rate offered: it may sustain more)"))
    print(platform.ratio_line("vs reading", sustained, reading["messages_per_s"], "rec/s",
                              (args.consumer, "ConsumerPerformance")))
    print(f"      ConsumerPerformance: {reading['messages']:,} records of the run, {reading['mb_per_s']:.1f} MB/s")
    print(f"\nlogs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
