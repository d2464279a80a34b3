"""The cost of TLS, side by side: the producer's throughput and the live lane's latency,
over TLS against without it.

    .venv/bin/python -m bench.tls [--count 300000] [--rounds 3] [--rate 1000] [--warmup 15] [--duration 60]

Starts two one-node hosts from the project's host image, as the tests do, and deploys
Kafka and Redis on each (BIGDATA_COMPONENTS=kafka,redis): one with tls_enabled (SASL_SSL
only and Redis over TLS, the platform's default) and one without (SASL_PLAINTEXT, Redis
plaintext). Then, round after round, alternating which host goes first:

- throughput: the producer service's own run loop (bench/producer.py's `ours`: acks=all,
  idempotent, lz4, as the producer's SCRAM user) sends --count ticks to a throwaway topic
  made like stock-ticks;
- latency: the producer service at --rate ticks/s of 50 bench symbols, the live lane
  service (both as processes here, with their own users), and a Redis subscriber here
  like the dashboard's, which takes `now - last_trade_time` of every record on the live
  channel: the tick's whole way to the browser but the dashboard's Socket.IO hop, which
  is the same on both (plain HTTP on `./bigdata up`). --warmup seconds are discarded,
  --duration seconds kept.

Target (issue 14): over TLS at least 0.7 of the plaintext throughput; the latencies are
reported with their ratio. The hosts are removed afterwards; the run makes its own
secrets and CA. Takes the heavy-work lock.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
import uuid

from bench import latency, platform
from bench.producer import ours
from ctl import hosts, images, prereqs
from ctl.provision import containers_of, run_deploy
from deploys.tls import pki
from shared import names, secrets

OWNER = f"rig:{os.getpid()}"  # swept like a test run's hosts if this process dies
VARIANTS = {"SASL_SSL": "true", "SASL_PLAINTEXT": "false"}  # Kafka's protocol on the host -> tls_enabled
TARGET = 0.7


def kafka_host(protocol: str, tls_enabled: str) -> platform.Backends:
    """A one-node Kafka and Redis host deployed with tls_enabled as given; its backends as
    `protocol` speaks (and Redis over TLS with it)."""
    prefix = f"bench{os.getpid()}{protocol.lower().replace('_', '')}-"
    (name,) = containers_of("inventories/bigdata.py", prefix)
    hosts.start([name], image=images.host_image(), network=f"{prefix}net", owner=OWNER)
    deployed = run_deploy("inventories/bigdata.py", prefix=prefix, extra_env={"BIGDATA_COMPONENTS": "kafka,redis"},
                          data={"tls_enabled": tls_enabled}, log_name=f"bench-tls-{protocol.lower()}")
    if deployed.returncode:
        raise SystemExit(f"the {protocol} host's deploy failed; see {deployed.log}")
    found = platform.servicekit.backends_of(name)
    redis_tls = tls_enabled == "true"
    env = {**found.env, "BIGDATA_KAFKA_SECURITY_PROTOCOL": protocol, "BIGDATA_REDIS_TLS": str(redis_tls).lower()}
    return platform.Backends(name, found.ip, env,
                             found.settings.replace(kafka_security_protocol=protocol, redis_tls=redis_tls))


def live_lane_latency(backends: platform.Backends, rate: float, warmup: float, duration: float, label: str) -> dict:
    """The producer and the live lane as processes here against this host, and a Redis
    subscriber timing the live channel's records of this run's symbols."""
    run = uuid.uuid4().hex[:6].upper()
    symbols = [f"BT{run}{i:02d}" for i in range(50)]
    clock, stop = latency.Clock(symbols), threading.Event()
    work = platform.run_dir("tls")
    common = {**backends.env, "BIGDATA_LOG_LEVEL": "WARNING"}
    lane = platform.ServiceProcess("services.live_lane", {**common, "BIGDATA_LANE_GROUP": f"{names.LIVE_GROUP}-bench-{run}"},
                                   work / f"live-lane-{label}.log")
    producer = platform.ServiceProcess("services.producer", {**common, "BIGDATA_PRODUCER_RATE": str(rate),
                                                             "BIGDATA_PRODUCER_SYMBOLS": ",".join(symbols)},
                                       work / f"producer-{label}.log")
    watcher = threading.Thread(target=latency.watch_redis, args=(backends.settings, {names.LIVE_CHANNEL: clock}, stop),
                               daemon=True)
    try:
        lane.start().wait_for(lambda h: h.get("assigned_partitions"), 90, "the live lane's partitions")
        watcher.start()
        producer.start().wait_running(60)
        time.sleep(warmup)
        clock.keep = True
        time.sleep(duration)
        clock.keep = False
    finally:
        stop.set()
        producer.stop_quietly()
        lane.stop_quietly()
        watcher.join(5)
    return clock.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300_000, help="ticks per run (each protocol, each round)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running both protocols")
    parser.add_argument("--rate", type=float, default=1000, help="ticks/s the producer sends for the latency")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of the latency run discarded")
    parser.add_argument("--duration", type=float, default=60, help="seconds of the latency run kept")
    args = parser.parse_args()
    os.environ["BIGDATA_SECRETS_FILE"] = os.devnull  # the run's own secrets, never an operator's
    for name, value in secrets.generate().items():
        os.environ[name] = value
    ca_dir = tempfile.mkdtemp(prefix="bench-tls-ca-")
    pki.write_ca(pki.create_ca("bench-tls"), ca_dir)
    os.environ[secrets.CA_DIR_ENV] = ca_dir
    prereqs.ensure_docker()
    results: dict[str, list[float]] = {protocol: [] for protocol in VARIANTS}
    latencies: dict[str, list[dict]] = {protocol: [] for protocol in VARIANTS}
    with platform.heavy_lock(), contextlib.ExitStack() as stack:
        stack.callback(hosts.remove, OWNER)
        topics, hosts_of = {}, {}
        for protocol, tls_enabled in VARIANTS.items():
            backends = hosts_of[protocol] = kafka_host(protocol, tls_enabled)
            topic = stack.enter_context(platform.bench_topic(backends))
            topics[protocol] = (backends.service_settings("services.producer"), topic)
        for round_ in range(1, args.rounds + 1):
            order = list(VARIANTS) if round_ % 2 else list(reversed(VARIANTS))
            for protocol in order:
                settings, topic = topics[protocol]
                load = platform.load()
                results[protocol].append(ours(settings, topic, args.count)["messages_per_s"])
                print(f"round {round_}: {protocol:<14} {results[protocol][-1]:>10,.0f} msg/s (load before: {load})",
                      flush=True)
                load = platform.load()
                latencies[protocol].append(live_lane_latency(hosts_of[protocol], args.rate, args.warmup,
                                                             args.duration, f"{protocol.lower()}-{round_}"))
                print(f"round {round_}: {protocol:<14} live lane{latency.line('', latencies[protocol][-1])} "
                      f"(load before: {load})", flush=True)
    print(f"\nthe producer's run loop, {args.count:,} ticks a run, acks=all, lz4, its SCRAM user, "
          f"{args.rounds} rounds each, one broker per protocol on this machine:")
    for label, pick in (("best", max), ("median", statistics.median)):
        print(platform.ratio_line(f"msg/s, {label}", pick(results["SASL_SSL"]), pick(results["SASL_PLAINTEXT"]),
                                  "msg/s", names=("TLS", "plaintext")))
    ratio = statistics.median(results["SASL_SSL"]) / statistics.median(results["SASL_PLAINTEXT"])
    print(f"  target: TLS >= {TARGET} of plaintext (median) -> {'met' if ratio >= TARGET else 'NOT met'} "
          f"({ratio:.2f})")
    print(f"\nthe live lane's latency (tick to the live channel's subscriber), {args.rate:,.0f} ticks/s of 50 symbols, "
          f"{args.duration:.0f} s a run after {args.warmup:.0f} s, the median of each quantile over {args.rounds} rounds:")
    for quantile in ("p50", "p99"):
        tls, plain = (statistics.median(run[quantile] for run in latencies[p] if run.get("count"))
                      for p in ("SASL_SSL", "SASL_PLAINTEXT"))
        print(f"  {quantile}: TLS {tls:.0f} ms, plaintext {plain:.0f} ms: TLS = {tls / plain:.2f} x plaintext")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
