"""The pipeline on the three-node cluster (inventories/cluster.py, the `three_node`
rig), as an operator runs it: the apps of marathon/apps deployed on Docker Swarm by
deploys/apps.py, the stream processor's checkpoint on the GlusterFS volume every
node mounts (deploys/glusterfs), the producer at 100 ticks/s (pipeline_env).

- The apps run as Swarm services spread over the three nodes.
- End to end across the nodes: known ticks in Cassandra (every one, once), Spark's
  windows as servicekit calculates them, the newest in Redis, and the dashboard's
  page in headless Chromium with prices moving and the known symbol's last price.
- Scaled to three storage writers (pipeline_scale): one on each node, one partition each.
- A node stopped: every service on it stopped as a shutdown stops them (`systemctl
  isolate rescue.target` on the host: Kafka, Cassandra, ZooKeeper, the Spark worker,
  the GlusterFS brick, the Docker engine and the app containers in it), then started
  again (`isolate multi-user.target`), keeping its address. The node chosen is the
  stream processor's (moved off the first node first, which holds Redis and the Spark
  master: single by this inventory's design). Swarm runs its tasks on the other two, the
  stream processor resumes from the shared checkpoint on another node (its committed
  batches carry on from the checkpoint's), and every tick Kafka acknowledged meanwhile
  is in Cassandra. (A node frozen or cut off instead, its processes alive but silent, is
  issue 16's: Spark's standalone master keeps such a driver's cores, see the README.)
"""
from __future__ import annotations

import json
import time

import pytest
import testinfra

import browser
from ctl import hosts, images
from marathon import swarm
from servicekit import (backends_of, cassandra_of, expected_windows, kafka_of, same, send_known_ticks,
                        stored_ticks, unique_symbols, wait_for_windows, wait_stored_once, wait_until)
from services.core import clients
from shared.names import ANALYTICS_TOPIC, LATEST_KEY_PREFIX, TICKS_TOPIC, WRITER_GROUP
from services.core.settings import DEFAULT_SYMBOLS
from services.stream_processor.settings import CHECKPOINT

pytestmark = pytest.mark.cluster  # needs the Docker engine

INVENTORY, DEPLOY, STACK = "inventories/cluster.py", "deploys/apps.py", "bigdata"
RATE = 100  # ticks/s from the producer: two cores carry the three nodes and the apps
DASHBOARD_PORT = 8050  # marathon/apps/dashboard.json's fixed host port


def on(name):
    return testinfra.get_host(f"docker://{name}")


def deploy(three_node, log_name: str, **data):
    data = {"pipeline_image_tags": json.dumps(images.pipeline_images()),
            "pipeline_env": json.dumps({"producer": {"BIGDATA_PRODUCER_RATE": str(RATE)}}), **data}
    done = three_node.deploy(DEPLOY, inventory=INVENTORY, data=data, log_name=log_name)
    assert done.returncode == 0, done.output[-4000:]
    return done


@pytest.fixture(scope="module")
def pipeline(three_node, progress):
    started = time.monotonic()
    deploy(three_node, "cluster-pipeline")
    progress(f"the pipeline on the three nodes' swarm in {time.monotonic() - started:.0f}s")
    yield three_node
    # the apps stop here: the suite's later tests need the two cores
    on(three_node.names[0]).run(f"docker stack rm {STACK}")


@pytest.fixture(scope="module")
def manager(pipeline):
    return on(pipeline.names[0])


@pytest.fixture(scope="module")
def backends(pipeline):
    first, *others = pipeline.names
    return backends_of(first, others=tuple(others))


@pytest.fixture(scope="module")
def kafka(backends):
    yield from kafka_of(backends)


@pytest.fixture(scope="module")
def cassandra(backends):
    yield from cassandra_of(backends)


def tasks(manager, down: str | None = None) -> dict[str, list[str]]:
    """app -> the nodes of its running tasks (none on `down`, whose tasks Swarm may not know dead yet)."""
    out = manager.check_output(f"docker stack ps {STACK} --filter desired-state=running "
                               "--format '{{.Name}} {{.Node}} {{.CurrentState}}'")
    running = {}
    for line in out.splitlines():
        name, node, state = line.split()[:3]
        nodes = running.setdefault(name.split(".")[0].removeprefix(f"{STACK}_"), [])
        if state == "Running" and node != down:
            nodes.append(node)
    return running


def replicas(manager) -> dict[str, int]:
    out = manager.check_output(f"docker service ls --filter label=com.docker.stack.namespace={STACK} "
                               f"--format '{swarm.SERVICE_LS_FORMAT}'")
    return {name.removeprefix(f"{STACK}_"): swarm.parse_replicas(column)[1]
            for name, column in (line.split(" ", 1) for line in out.splitlines())}


def wait_all_running(manager, timeout: float, down: str | None = None) -> dict[str, list[str]]:
    wanted = replicas(manager)
    return wait_until(lambda: (found := tasks(manager, down)) and all(len(found.get(app, [])) == count
                                                                     for app, count in wanted.items()) and found,
                      timeout, f"every app's replicas running{f' off {down}' if down else ''}",
                      interval=2, explain=lambda: tasks(manager, down))


def last_commit(host) -> int:
    """The stream processor's last committed micro-batch, as its checkpoint on the shared volume says."""
    return int(host.check_output(f"ls {CHECKPOINT}/commits | grep -E '^[0-9]+$' | sort -n | tail -1") or -1)


def test_the_apps_run_as_swarm_services_spread_over_the_three_nodes(pipeline, manager):
    running = wait_all_running(manager, 420)
    assert set(running) == {"producer", "storage-writer", "stream-processor", "redis-publisher", "live-lane",
                            "dashboard"}, running
    assert {node for nodes in running.values() for node in nodes} == set(pipeline.names), running
    mount = on(running["stream-processor"][0]).check_output("findmnt -n -o FSTYPE /var/lib/bigdata/spark/checkpoints")
    assert mount == "fuse.glusterfs", "the checkpoint is on the shared volume"


def test_known_ticks_go_end_to_end_across_the_nodes(pipeline, manager, kafka, cassandra, backends):
    running = wait_all_running(manager, 420)
    known = unique_symbols(1)[0]
    since = kafka.end_offsets(ANALYTICS_TOPIC)
    planned, sent = send_known_ticks(kafka, known, "cluster", 80, seed=3)
    wait_stored_once(cassandra, known, planned, 120)
    wanted = expected_windows(sent)
    wait_for_windows(kafka, since, wanted, timeout=300)
    newest = {}
    for (_, window, start), figures in wanted.items():
        if window not in newest or start > newest[window]["window_start"]:
            newest[window] = figures
    redis = clients.redis_client(backends.settings)
    wait_until(lambda: (found := redis.hgetall(LATEST_KEY_PREFIX + known)) and set(found) == set(newest) and not any(
        same(json.loads(found[w]), f) for w, f in newest.items()), 60, "the newest windows in Redis")

    browser.install()
    symbol = DEFAULT_SYMBOLS[0]  # on the dashboard by default, and in the synthetic feed
    dashboard_ip = hosts.ip_address(running["dashboard"][0])
    last_price = max(sent, key=lambda t: (t.trade_time, t.position)).price
    with browser.open(f"http://{dashboard_ip}:{DASHBOARD_PORT}/?symbols={symbol},{known}") as page:
        assert browser.wait_chart(page, symbol, timeout_s=90) >= 1
        first, later = browser.wait_prices_move(page, symbol, timeout_s=90)
        # the known symbol's card fills from its snapshot and history (Cassandra at quorum
        # across the nodes, reads bounded per dashboard): it may come after AAPL's moves
        shown = wait_until(lambda: browser.read_price(page, known)[0], 60, f"a price on {known}'s card")
        assert shown == last_price, f"the known symbol shows {shown}, its last trade was at {last_price}"
        assert not browser.foreign_requests(page), browser.foreign_requests(page)
    print(f"the dashboard on {running['dashboard'][0]}: {symbol} moved {first} -> {later}")


def test_three_storage_writers_one_on_each_node_share_the_partitions(pipeline, manager, kafka):
    deploy(pipeline, "cluster-pipeline-scaled", pipeline_scale=json.dumps({"storage-writer": 3}))
    running = wait_all_running(manager, 300)
    assert sorted(running["storage-writer"]) == sorted(pipeline.names), running
    wait_until(lambda: sorted(kafka.group_members(WRITER_GROUP)) == [[0], [1], [2]], 180,
               "three writers holding one partition each", explain=lambda: kafka.group_members(WRITER_GROUP))


def test_a_stopped_node_has_its_tasks_rescheduled_and_no_acknowledged_tick_is_lost(pipeline, manager, kafka,
                                                                               cassandra, progress):
    first = pipeline.names[0]
    running = wait_all_running(manager, 300)
    if running["stream-processor"] == [first]:  # off the node with Redis and the Spark master
        manager.check_output(f"docker service update --detach=true --constraint-add node.hostname!={first} "
                             f"{STACK}_stream-processor")
        # running means healthy: after its first batch, which may take minutes on a busy rig
        # (its health grace is 600 s, marathon/apps/stream-processor.json)
        running = wait_until(lambda: (found := tasks(manager)) and found.get("stream-processor") and
                             found["stream-processor"] != [first] and found, 600, "the stream processor moved")
    stopped = running["stream-processor"][0]
    witness = on(first)  # reads the shared checkpoint throughout
    wait_until(lambda: last_commit(witness) >= 0, 420, "the stream processor's first committed batch")
    before, ticks_since = last_commit(witness), kafka.end_offsets(TICKS_TOPIC)

    stopped_at = time.monotonic()
    progress(f"stopping {stopped}, the stream processor's node ({sum(n.count(stopped) for n in running.values())} "
             f"tasks); its last committed batch {before}")
    on(stopped).check_output("systemctl isolate rescue.target")
    try:
        moved = wait_all_running(manager, 600, down=stopped)
        progress(f"every app running off {stopped} after {time.monotonic() - stopped_at:.0f}s: {moved}")
        # from the same checkpoint: a new one on a node's own disk would leave this one behind
        resumed = wait_until(lambda: (last := last_commit(witness)) > before + 2 and last, 600,
                             "the stream processor's batches committed on another node")
        progress(f"the stream processor on {moved['stream-processor']} carries on from batch {before} "
                 f"(now {resumed}), {time.monotonic() - stopped_at:.0f}s after the stop")
    finally:
        on(stopped).check_output("systemctl isolate multi-user.target")
    assert stopped not in moved["stream-processor"]
    ticks_until = kafka.end_offsets(TICKS_TOPIC)

    acknowledged = {}
    for record in kafka.read(TICKS_TOPIC, ticks_since, ticks_until, timeout=120):
        tick = json.loads(record.value())
        acknowledged.setdefault(tick["symbol"], set()).add(tick["id"])
    count = sum(len(ids) for ids in acknowledged.values())
    assert count > RATE * 30, f"only {count} ticks while the node was stopped: was the producer running?"

    def missing():
        stored = {(r.symbol, r.tick_id) for r in stored_ticks(cassandra, list(acknowledged))}
        return {(s, i) for s, ids in acknowledged.items() for i in ids} - stored

    wait_until(lambda: not missing(), 300, "every acknowledged tick in Cassandra",
               explain=lambda: f"{len(missing())} of {count} missing, e.g. {sorted(missing())[:5]}")
    progress(f"all {count} ticks Kafka acknowledged while {stopped} was stopped are in Cassandra")

    # the node back: its engine rejoins and Swarm's state settles before the suite goes on
    state = f"docker node inspect --format '{{{{.Status.State}}}}' {stopped}"
    wait_until(lambda: manager.check_output(state) == "ready", 180, f"{stopped} ready in the swarm again")
