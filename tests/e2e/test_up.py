"""`./bigdata up` as a newcomer runs it, then the pipeline from its images: the real
command brings up a node of its own, deploys the platform, builds and ships the
service images, runs every app of marathon/apps as containers under systemd and
prints the dashboard's URL. Then known ticks go in and come out in Cassandra and in
the analytics (against servicekit's independent calculation), headless Chromium
opens the printed URL and sees prices move, a second `up` changes nothing, and
`./bigdata down` leaves no container, network or volume behind.

The node is named with its own prefix and publishes the dashboard on a free port, so
that a platform the user has running on this machine is never touched.
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import time
import uuid

import pytest

import browser
from ctl import ROOT
from ctl.hosts import OWNER_LABEL, PREFIX_ENV
from ctl.local import DASHBOARD_PORT_ENV
from marathon.apps import SERVICES
from servicekit import (Kafka, Sent, backends_of, expected_windows, free_port, stored_ticks, tick_value,
                        unique_symbols, wait_for_windows, wait_until)
from services.core import clients
from services.core.names import ANALYTICS_TOPIC, TICKS_TOPIC
from services.core.settings import DEFAULT_SYMBOLS

pytestmark = pytest.mark.cluster  # needs the Docker engine

PREFIX = "e2e-"
NODE = f"{PREFIX}bigdata"
OWNER = f"{PREFIX}up"  # ctl/local.py's owner label under this prefix
PORT = free_port()
COMPONENTS = ("zookeeper", "kafka", "cassandra", "redis", "spark-master", "spark-worker")


def bigdata(*args: str, timeout: float = 2400) -> subprocess.CompletedProcess:
    env = {**os.environ, PREFIX_ENV: PREFIX, DASHBOARD_PORT_ENV: str(PORT)}
    started = time.monotonic()
    done = subprocess.run([str(ROOT / "bigdata"), *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    done.seconds = time.monotonic() - started
    return done


def made_by_up() -> dict[str, list[str]]:
    """Containers, networks and volumes carrying this run's owner label or prefix."""
    found = {}
    for kind in ("container", "network", "volume"):
        listing = ["docker", kind, "ls", "--all", "--format", "{{.Names}}"] if kind == "container" else \
            ["docker", kind, "ls", "--format", "{{.Name}}"]
        labelled = subprocess.run([*listing, "--filter", f"label={OWNER_LABEL}={OWNER}"], capture_output=True,
                                  text=True, check=True).stdout.split()
        named = [name for name in subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()
                 if name.startswith(PREFIX)]
        found[kind] = sorted(set(labelled) | set(named))
    return found


@pytest.fixture(scope="module")
def up(host_image, progress):
    """`./bigdata up` on a fresh node (a killed earlier run's leftovers removed first)."""
    bigdata("down")
    progress(f"./bigdata up (node {NODE}, dashboard on port {PORT}): the platform, the images, the pipeline")
    try:
        done = bigdata("up")
        assert done.returncode == 0, done.stdout[-6000:]
        progress(f"./bigdata up took {done.seconds:.0f}s")
        yield done
    finally:
        bigdata("down")


@pytest.fixture(scope="module")
def backends(up):
    return backends_of(NODE)


def test_up_prints_the_dashboard_url_and_every_component_and_app_running(up):
    assert f"the dashboard: http://localhost:{PORT}/" in up.stdout, up.stdout[-3000:]
    status = bigdata("status")
    assert status.returncode == 0, status.stdout
    for name in COMPONENTS:
        assert re.search(rf"^\s+{name}\s+active$", status.stdout, re.M), status.stdout
    for app in SERVICES:
        assert re.search(rf"^\s+{app} #1\s+active$", status.stdout, re.M), status.stdout


def test_known_ticks_reach_cassandra_and_the_analytics_from_the_containers(backends):
    kafka = Kafka(backends.settings)
    cassandra = wait_until(lambda: clients.cassandra_session(backends.settings), 120, "a Cassandra session")
    try:
        (symbol,) = unique_symbols(1)
        since = kafka.end_offsets(ANALYTICS_TOPIC)
        rng, now, run = random.Random(11), int(time.time() * 1000), uuid.uuid4().hex[:8]
        planned = [(f"synthetic-up{run}-{n}", now - 2000 + n * 50, round(50 + rng.uniform(-1, 1), 2),
                    rng.choice([0, 100, 250])) for n in range(40)]
        positions = kafka.send(TICKS_TOPIC, [(symbol.encode(), tick_value(symbol, tick_id, price, trade_time, volume))
                                             for tick_id, trade_time, price, volume in planned])

        # the storage writer's container: every tick, once, as sent
        rows = wait_until(lambda: (found := stored_ticks(cassandra, [symbol])) and len(found) >= len(planned)
                          and found, 90, "the known ticks in Cassandra")
        assert sorted((r.tick_id, int(r.trade_time.timestamp() * 1000), r.price, r.volume) for r in rows) == \
            sorted(planned)

        # the stream processor's container (the Spark job): every window as calculated here
        sent = [Sent(symbol, trade_time, price, volume, where)
                for (_, trade_time, price, volume), where in zip(planned, positions)]
        wait_for_windows(kafka, since, expected_windows(sent), timeout=180)
    finally:
        cassandra.cluster.shutdown()
        kafka.close()


def test_headless_chromium_sees_prices_move_at_the_printed_url(up):
    browser.install()
    symbol = DEFAULT_SYMBOLS[0]  # on the dashboard by default, and in the synthetic feed
    with browser.open(f"http://localhost:{PORT}/") as page:
        assert browser.wait_chart(page, symbol) >= 1
        first, later = browser.wait_prices_move(page, symbol, timeout_s=90)
        latencies = browser.wait_latency_updates(page, count=3, timeout_s=60)
        assert all(0 <= latency < 30_000 for latency in latencies), latencies
        assert not browser.foreign_requests(page), browser.foreign_requests(page)
    print(f"{symbol} moved {first} -> {later}; tick-to-browser latency shown: {latencies} ms")


def test_up_again_changes_nothing(up, progress):
    again = bigdata("up")
    assert again.returncode == 0, again.stdout[-4000:]
    for deploy in ("deploys/site.py", "deploys/pipeline.py"):
        assert f"{deploy}: 0 operation(s) changed something" in again.stdout, again.stdout[-4000:]
    progress(f"./bigdata up again took {again.seconds:.0f}s")


def test_down_leaves_no_container_network_or_volume(up):
    assert any(made_by_up().values())  # what `up` made is there, so that its absence below means something
    down = bigdata("down")
    assert down.returncode == 0, down.stdout
    assert made_by_up() == {"container": [], "network": [], "volume": []}
