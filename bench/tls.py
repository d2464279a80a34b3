"""The cost of TLS: the producer's throughput over SASL_SSL against SASL_PLAINTEXT, side by side.

    .venv/bin/python -m bench.tls [--count 300000] [--rounds 3]

Starts two one-node Kafka hosts from the project's host image, as the tests do, and
deploys Kafka on each (BIGDATA_COMPONENTS=kafka): one with tls_enabled (SASL_SSL only,
the platform's default) and one without (SASL_PLAINTEXT). Then, round after round, the
producer service's own run loop (bench/producer.py's `ours`: acks=all, idempotent, lz4,
as the producer's SCRAM user) sends --count ticks to a throwaway topic made like
stock-ticks on each, alternating which goes first. Target (issue 14): over TLS at least
0.7 of the plaintext throughput. The hosts are removed afterwards; the run makes its own
secrets and CA. Takes the heavy-work lock.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile

from bench import platform
from bench.producer import ours
from ctl import hosts, images, prereqs
from ctl.provision import containers_of, run_deploy
from deploys.tls import pki
from shared import secrets

OWNER = f"rig:{os.getpid()}"  # swept like a test run's hosts if this process dies
VARIANTS = {"SASL_SSL": "true", "SASL_PLAINTEXT": "false"}  # the client's protocol -> tls_enabled
TARGET = 0.7


def kafka_host(protocol: str, tls_enabled: str) -> platform.Backends:
    """A one-node Kafka host deployed with tls_enabled as given; its backends as `protocol` speaks."""
    prefix = f"bench{os.getpid()}{protocol.lower().replace('_', '')}-"
    (name,) = containers_of("inventories/bigdata.py", prefix)
    hosts.start([name], image=images.host_image(), network=f"{prefix}net", owner=OWNER)
    deployed = run_deploy("inventories/bigdata.py", prefix=prefix, extra_env={"BIGDATA_COMPONENTS": "kafka"},
                          data={"tls_enabled": tls_enabled}, log_name=f"bench-tls-{protocol.lower()}")
    if deployed.returncode:
        raise SystemExit(f"the {protocol} host's deploy failed; see {deployed.log}")
    found = platform.servicekit.backends_of(name)
    env = {**found.env, "BIGDATA_KAFKA_SECURITY_PROTOCOL": protocol}
    return platform.Backends(name, found.ip, env, found.settings.replace(kafka_security_protocol=protocol))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300_000, help="ticks per run (each protocol, each round)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running both protocols")
    args = parser.parse_args()
    os.environ["BIGDATA_SECRETS_FILE"] = os.devnull  # the run's own secrets, never an operator's
    for name, value in secrets.generate().items():
        os.environ[name] = value
    ca_dir = tempfile.mkdtemp(prefix="bench-tls-ca-")
    pki.write_ca(pki.create_ca("bench-tls"), ca_dir)
    os.environ[secrets.CA_DIR_ENV] = ca_dir
    prereqs.ensure_docker()
    results: dict[str, list[float]] = {protocol: [] for protocol in VARIANTS}
    with platform.heavy_lock(), contextlib.ExitStack() as stack:
        stack.callback(hosts.remove, OWNER)
        topics = {}
        for protocol, tls_enabled in VARIANTS.items():
            backends = kafka_host(protocol, tls_enabled)
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
    print(f"\nthe producer's run loop, {args.count:,} ticks a run, acks=all, lz4, its SCRAM user, "
          f"{args.rounds} rounds each, one broker per protocol on this machine:")
    for label, pick in (("best", max), ("median", statistics.median)):
        print(platform.ratio_line(f"msg/s, {label}", pick(results["SASL_SSL"]), pick(results["SASL_PLAINTEXT"]),
                                  "msg/s", names=("TLS", "plaintext")))
    ratio = statistics.median(results["SASL_SSL"]) / statistics.median(results["SASL_PLAINTEXT"])
    print(f"  target: TLS >= {TARGET} of plaintext (median) -> {'met' if ratio >= TARGET else 'NOT met'} "
          f"({ratio:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
