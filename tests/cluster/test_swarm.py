"""deploys/swarm: every host of swarm_manager and swarm_worker a node of one swarm, on
one node and on three (all managers: Raft keeps its majority with one down, which
test_swarm_apps.py tries), each labelled as the inventory says; no routing mesh (this
kernel has no IPVS); the join tokens nowhere in the deploy's output. The second run
reporting no changes is test_common's (the whole site deploy)."""
import json

import pytest
import testinfra

from deploys import swarm


@pytest.fixture
def nodes(platform):
    managers, workers = platform.members(swarm.MANAGERS), platform.members(swarm.WORKERS)
    assert managers, "the inventories make every platform a swarm (group swarm_manager)"
    return managers, workers


def on(name):
    return testinfra.get_host(f"docker://{name}")


def test_every_node_ready_and_every_manager_reachable(nodes):
    managers, workers = nodes
    listed = on(managers[0]).check_output("docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'")
    seen = {line.split()[0]: line.split()[1:] for line in listed.splitlines()}
    assert set(seen) == set(managers + workers), listed
    assert all(state[0] == "Ready" for state in seen.values()), listed
    assert sorted(name for name, state in seen.items() if state[1:] in (["Leader"], ["Reachable"])) == sorted(managers)
    assert [name for name, state in seen.items() if state[1:] == ["Leader"]] == [managers[0]], "the first one inits"
    for name in managers + workers:
        info = on(name).check_output("docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'")
        assert info == f"active {'true' if name in managers else 'false'}", name


def test_node_labels_are_the_inventorys(platform, nodes):
    managers, workers = nodes
    for name in managers + workers:
        labels = json.loads(on(managers[0]).check_output(f"docker node inspect --format '{{{{json .Spec.Labels}}}}' "
                                                         f"{name}"))
        assert labels == platform.settings(name, swarm.Settings).swarm_node_labels, name


def test_no_routing_mesh_network(nodes):
    """Nothing may ask for ingress: without IPVS its services would never start."""
    for name in nodes[0]:
        assert on(name).check_output("docker network ls --format '{{.Name}}'").split().count("ingress") == 0


def test_the_join_tokens_are_in_no_deploy_output(platform, nodes):
    manager = on(nodes[0][0])
    tokens = [manager.check_output(f"docker swarm join-token -q {role}") for role in ("manager", "worker")]
    assert all(token.startswith("SWMTKN-") for token in tokens)
    for run in (platform.first_run, platform.second_run):
        assert not any(token in run.output or token[-25:] in run.output for token in tokens)
