"""Apps on the three-node swarm (deploys/pipeline from a Marathon definition, translated
by marathon/swarm.py): tests/cluster/pipeline_apps/test-web.json, two replicas of a small
HTTP server from the project's pipeline image whose /health answers its APP_VERSION,
run in a stack of its own ("rigtest") on the `three_node` rig's hosts.

What Swarm is trusted with and checked here: replicas placed on different nodes with the
definition's limits, env, secret (a file, never the environment), labels and volume; a
second run changing nothing; a container killed outright replaced; a node whose engine
stops (one of three managers) has its task rescheduled elsewhere; a version whose health
check fails rolled back by Swarm while the previous one keeps serving; scaled to three,
one replica on each node."""
import json
import os
import time
from pathlib import Path

import pytest
import testinfra

from ctl import images

INVENTORY = "tests/cluster/swarm_apps_inventory.py"
DEPLOY = "deploys/apps.py"
APP_FILE = Path(__file__).with_name("pipeline_apps") / "test-web.json"
SERVICE = "rigtest_test-web"


@pytest.fixture(scope="module")
def tags():
    return json.dumps(images.pipeline_images())


@pytest.fixture(scope="module")
def apps(three_node, tags):
    """The first and the second run of the app deploy on the three nodes."""
    runs = [three_node.deploy(DEPLOY, inventory=INVENTORY, data={"pipeline_image_tags": tags},
                              log_name=f"swarm-apps-{attempt}") for attempt in ("first", "second")]
    for run in runs:
        assert run.returncode == 0, run.output[-4000:]
    yield runs
    testinfra.get_host(f"docker://{three_node.names[0]}").run("docker stack rm rigtest")


@pytest.fixture
def manager(three_node):
    return testinfra.get_host(f"docker://{three_node.names[0]}")


def on(name):
    return testinfra.get_host(f"docker://{name}")


def tasks(manager) -> list[tuple[str, str]]:
    """(node, current state) of the service's tasks meant to run."""
    out = manager.check_output(f"docker service ps --filter desired-state=running "
                               f"--format '{{{{.Node}}}} {{{{.CurrentState}}}}' {SERVICE}")
    return [(line.split()[0], line.split()[1]) for line in out.splitlines()]


def wait_for_tasks(manager, count: int, timeout: float = 120, avoid: str | None = None) -> list[str]:
    """The nodes of `count` running tasks (none on `avoid`), once Swarm has them."""
    deadline = time.monotonic() + timeout
    while True:
        running = [node for node, state in tasks(manager) if state == "Running" and node != avoid]
        if len(running) == count:
            return running
        assert time.monotonic() < deadline, f"{count} running tasks wanted: {tasks(manager)}"
        time.sleep(1)


def container(name: str) -> dict:
    """The app's container on a node, as `docker inspect` gives it."""
    host = on(name)
    ids = host.check_output(f"docker ps -q --filter label=com.docker.swarm.service.name={SERVICE}").split()
    assert len(ids) == 1, f"one replica on {name}: {ids}"
    return json.loads(host.check_output(f"docker inspect {ids[0]}"))[0]


def answers(name: str, inspected: dict) -> str:
    """What the replica's /health says, asked inside its container by the image's checker."""
    return on(name).check_output(f"docker exec {inspected['Id']} bigdata-healthcheck /health")


def test_two_replicas_on_two_nodes_with_the_definitions_limits_env_secret_labels_and_volume(apps, manager):
    nodes = wait_for_tasks(manager, 2)
    assert len(set(nodes)) == 2, f"hostname UNIQUE: one replica per node, {nodes}"
    for name in nodes:
        inspected = container(name)
        assert inspected["State"]["Health"]["Status"] == "healthy"
        assert answers(name, inspected) == "1"
        assert inspected["HostConfig"]["NanoCpus"] == 250_000_000 and inspected["HostConfig"]["Memory"] == 96 * 2**20
        assert inspected["HostConfig"]["NetworkMode"] == "host"
        env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
        assert env["APP_VERSION"] == "1" and env["PORT0"] == "0"
        assert "BIGDATA_REDIS_PASSWORD" not in env, "a secret is a file, never in the environment"
        secret = on(name).check_output(f"docker exec {inspected['Id']} cat {env['BIGDATA_REDIS_PASSWORD_FILE']}")
        assert secret == os.environ["BIGDATA_REDIS_PASSWORD"]
        assert inspected["Config"]["Labels"]["io.bigdata.service"] == "test-web"
        assert {"Type": "bind", "Source": "/var/lib/bigdata/test-web", "Target": "/srv/data"}.items() <= \
            inspected["HostConfig"]["Mounts"][0].items()
    stack_file = manager.file("/etc/bigdata/swarm/rigtest.json")
    assert stack_file.exists and os.environ["BIGDATA_REDIS_PASSWORD"] not in stack_file.content_string


def test_second_run_reports_no_changes(apps):
    assert apps[1].changed == 0, apps[1].output[-3000:]


def test_a_container_killed_outright_is_replaced(apps, manager):
    name = wait_for_tasks(manager, 2)[0]
    before = container(name)["Id"]
    on(name).check_output(f"docker kill --signal KILL {before}")
    deadline = time.monotonic() + 90
    while True:  # a new task, on this node or on the free third one (hostname UNIQUE)
        nodes = wait_for_tasks(manager, 2, timeout=90)
        try:
            replicas = {node: container(node) for node in nodes}
        except AssertionError:  # a node between its old and its new container
            replicas = {}
        if len(replicas) == 2 and before not in {inspected["Id"] for inspected in replicas.values()}:
            break
        assert time.monotonic() < deadline, tasks(manager)
        time.sleep(1)
    assert all(answers(node, inspected) == "1" for node, inspected in replicas.items())


def test_a_stopped_manager_node_has_its_task_rescheduled(apps, manager, three_node):
    """One of three managers gone: the other two keep Raft's majority and place its task on the third node."""
    nodes = wait_for_tasks(manager, 2)
    lost = next(name for name in nodes if name != three_node.names[0])  # keep the node we ask through
    host = on(lost)
    host.check_output("systemctl stop docker.socket docker.service")
    try:
        moved = wait_for_tasks(manager, 2, timeout=180, avoid=lost)
        assert lost not in moved and len(set(moved)) == 2, moved
        state = manager.check_output(f"docker node inspect --format '{{{{.Status.State}}}} "
                                     f"{{{{.ManagerStatus.Reachability}}}}' {lost}")
        assert state == "down unreachable", state
    finally:
        host.check_output("systemctl start docker.service")
    deadline = time.monotonic() + 120
    while manager.check_output(f"docker node inspect --format '{{{{.Status.State}}}}' {lost}") != "ready":
        assert time.monotonic() < deadline, f"{lost} did not come back"
        time.sleep(2)


def test_a_failing_version_rolls_back_and_the_previous_keeps_serving(apps, manager, three_node, tags, tmp_path):
    definition = json.loads(APP_FILE.read_text())
    definition["env"]["APP_VERSION"] = "2"
    # version 2 serves no /health: never healthy
    definition["args"] = ["sh", "-c", 'exec python3 -m http.server "$PORT0" --directory /tmp']
    (tmp_path / APP_FILE.name).write_text(json.dumps(definition))
    bad = three_node.deploy(DEPLOY, inventory=INVENTORY, log_name="swarm-apps-bad",
                            data={"pipeline_image_tags": tags, "pipeline_apps_dir": str(tmp_path)})
    assert bad.returncode != 0
    assert "rigtest_test-web: the update failed, and Swarm rolled it back" in bad.output, bad.output[-3000:]
    for name in wait_for_tasks(manager, 2):
        inspected = container(name)
        assert answers(name, inspected) == "1"
        assert "APP_VERSION=1" in inspected["Config"]["Env"]
    again = three_node.deploy(DEPLOY, inventory=INVENTORY, log_name="swarm-apps-again", data={"pipeline_image_tags": tags})
    assert again.returncode == 0, again.output[-3000:]


def test_scaled_to_three_one_replica_on_each_node(apps, manager, three_node, tags):
    scaled = three_node.deploy(DEPLOY, inventory=INVENTORY, log_name="swarm-apps-scaled",
                               data={"pipeline_image_tags": tags, "pipeline_scale": json.dumps({"test-web": 3})})
    assert scaled.returncode == 0, scaled.output[-3000:]
    assert sorted(wait_for_tasks(manager, 3)) == sorted(three_node.names)
