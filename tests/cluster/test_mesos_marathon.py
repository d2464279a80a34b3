"""deploys/mesos and deploys/marathon.

1. The full plan on a rig host, with `pyinfra --dry`: one host in the zookeeper,
   mesos_master, mesos_agent and marathon groups; the test asserts that the plan
   holds the repository, the packages, the configuration files (with the ZooKeeper
   URLs and the quorum) and the units, in order, and that the host was not touched.
   This runs everywhere: a dry run reads facts and needs no package source.
2. A real Mesos/Marathon cluster on three rig hosts, verified with testinfra:
   masters elect a leader, agents register with the Docker containerizer, Marathon
   answers /v2/info with its credentials and refuses it without. It needs the
   configured package repository: the tests ask it (an HTTP GET, 5 s) and skip only
   when nothing answers. BIGDATA_TEST_MESOS_APT_REPOSITORY, _SUITE and _KEY_URL point
   them at a mirror.
"""
import json
import os
import re
import subprocess
import textwrap

import pytest
import requests

from ctl import ROOT, hosts
from ctl.provision import run_deploy
from deploys import mesos
from deploys.components import ALL
from deploys.zookeeper import acls
from deploys.zookeeper.facts import parse_acls
from tlskit import CA

# the rig's owner label and prefix (tests/conftest.py): its session cleanup removes these too
OWNER, PREFIX = f"rig:{os.getpid()}", f"rig{os.getpid()}-"
NETWORK = f"{PREFIX}net"
MESOS_DEFAULTS = mesos.Settings.defaults()
PLAN_HOST = f"{PREFIX}mesos-plan"

REPOSITORY = {
    "mesos_apt_repository": os.environ.get("BIGDATA_TEST_MESOS_APT_REPOSITORY",
                                           MESOS_DEFAULTS["mesos_apt_repository"]),
    "mesos_apt_suite": os.environ.get("BIGDATA_TEST_MESOS_APT_SUITE", MESOS_DEFAULTS["mesos_apt_suite"]),
    "mesos_apt_key_url": os.environ.get("BIGDATA_TEST_MESOS_APT_KEY_URL", MESOS_DEFAULTS["mesos_apt_key_url"]),
}


# --- 1. the plan ---------------------------------------------------------------------
def dry_run(inventory: str, log_name: str) -> tuple[int, str]:
    """`pyinfra --dry` of the whole site deploy: the plan, with nothing changed."""
    result = run_deploy(inventory, dry=True, extra_env={"BIGDATA_COMPONENTS": ""}, log_name=log_name)
    return result.returncode, result.output


def plan_rows(output: str) -> list[tuple[str, str, str]]:
    """(operation, change, conditional change) for each row of pyinfra's "Detected changes"."""
    table = output.split("--> Detected changes:", 1)[1].split("Detected changes may not include", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = re.split(r"\s{3,}", line.strip())
        if len(cells) == 3:
            rows.append(tuple(cells))
    return rows


@pytest.fixture(scope="module")
def plan(host_image, rig, tmp_path_factory):
    hosts.start([PLAN_HOST], image=host_image, network=NETWORK, owner=OWNER)
    try:
        inventory = tmp_path_factory.mktemp("plan") / "mesos_plan.py"
        inventory.write_text(textwrap.dedent(f"""\
            from shared.secrets import secret
            from deploys.inventory import check_inventory
            _host = [("@docker/{PLAN_HOST}", {{"address": "{PLAN_HOST}",
                                               "marathon_http_password": secret("BIGDATA_MARATHON_PASSWORD"),
                                               "producer_token": secret("BIGDATA_PRODUCER_TOKEN"),
                                               **{{f"zookeeper_{{user}}_password": secret(f"BIGDATA_ZOOKEEPER_{{user.upper()}}_PASSWORD")
                                                  for user in ("admin", "mesos", "marathon")}},
                                               "mesos_marathon_secret": secret("BIGDATA_MESOS_MARATHON_SECRET"),
                                               "mesos_agent_secret": secret("BIGDATA_MESOS_AGENT_SECRET")}})]
            zookeeper = mesos_master = mesos_agent = marathon = _host
            check_inventory(__file__, globals())
            """))
        returncode, output = dry_run(str(inventory), "mesos-marathon-plan")
        assert returncode == 0, output[-4000:]
        touched = subprocess.run(["docker", "exec", PLAN_HOST, "sh", "-c",
                                  "ls /etc/default/mesos-master /etc/default/marathon "
                                  "/etc/apt/sources.list.d/bigdata-mesos.list 2>/dev/null"],
                                 capture_output=True, text=True).stdout.split()
        yield output, plan_rows(output), touched
    finally:
        subprocess.run(["docker", "rm", "--force", "--volumes", PLAN_HOST], capture_output=True)


def test_plan_holds_repository_packages_configuration_and_units_in_order(plan):
    output, rows, _ = plan
    zk = f"zk://{PLAN_HOST}:2181"
    key, repository = MESOS_DEFAULTS["mesos_apt_key_url"], MESOS_DEFAULTS["mesos_apt_repository"]
    expected = [
        "ZooKeeper | Keep ZooKeeper enabled and running",
        # the root the admin's, and a znode for each client, owned by its own user
        "ZooKeeper | Set ZooKeeper's ACLs (/, /mesos, /marathon)",
        f"Mesos | Download the Mesos repository's signing key ({key})",
        f"Mesos | Add the Mesos apt repository (deb [signed-by=/etc/apt/keyrings/bigdata-mesos.asc] {repository} "
        f"bookworm main)",
        "Mesos | Install aventer-mesos (Mesos)",
        f"Mesos | Configure the Mesos master (/etc/default/mesos-master: {zk}/mesos, quorum 1 of 1)",
        "Mesos | Install the mesos-master unit (/etc/systemd/system/mesos-master.service)",
        "Mesos | Keep mesos-master enabled and running",
        f"Mesos | Configure the Mesos agent (/etc/default/mesos-agent: {zk}/mesos, containerizers docker,mesos)",
        "Mesos | Install the mesos-agent unit (/etc/systemd/system/mesos-agent.service)",
        "Mesos | Keep mesos-agent enabled and running",
        "Marathon | Install marathon (Marathon) and aventer-mesos",
        f"Marathon | Configure Marathon (/etc/default/marathon: --master {zk}/mesos --zk {zk}/marathon, basic auth)",
        "Marathon | Install the marathon unit (/etc/systemd/system/marathon.service)",
        "Marathon | Keep Marathon enabled and running",
    ]
    names = [name for name, _, _ in rows]
    missing = [e for e in expected if e not in names]
    assert not missing, f"not in the plan: {missing}\n{output[-6000:]}"
    positions = [names.index(e) for e in expected]
    assert positions == sorted(positions), "ZooKeeper, then the Mesos master and agent, then Marathon"
    for name, change, _ in rows:
        if name in expected:
            assert change == f"1 (@docker/{PLAN_HOST})", f"{name}: {change}"  # a fresh host: all of it changes


def test_plan_waits_for_each_daemon_after_it_starts(plan):
    _, rows, _ = plan
    conditional = {name for name, _, maybe in rows if maybe == f"1 (@docker/{PLAN_HOST})"}
    assert {"Mesos | Refresh the apt cache for the Mesos repository",
            "Mesos | Wait until the Mesos masters have elected a leader",
            "Mesos | Wait until the Mesos agent answers /health",
            "Marathon | Wait until Marathon answers /v2/info with the credentials and refuses it without",
            } <= conditional


def test_a_dry_run_touches_nothing_and_prints_no_secret(plan):
    output, _, touched = plan
    assert touched == []
    for secret in ("BIGDATA_MARATHON_PASSWORD", "BIGDATA_ZOOKEEPER_ADMIN_PASSWORD", "BIGDATA_ZOOKEEPER_MESOS_PASSWORD",
                   "BIGDATA_ZOOKEEPER_MARATHON_PASSWORD", "BIGDATA_MESOS_MARATHON_SECRET",
                   "BIGDATA_MESOS_AGENT_SECRET"):  # the zk:// URLs in the plan show no login
        assert os.environ[secret] not in output, secret


# --- 2. a real cluster ---------------------------------------------------------------------
def repository_answers() -> tuple[bool, str]:
    """Does the configured package repository answer at all (any HTTP status)?"""
    url = f"{REPOSITORY['mesos_apt_repository'].rstrip('/')}/dists/{REPOSITORY['mesos_apt_suite']}/InRelease"
    try:
        response = requests.get(url, timeout=5, stream=True)
        response.close()
        return True, f"{url}: HTTP {response.status_code}"
    except requests.RequestException as error:
        return False, f"{url}: {type(error).__name__}: {error}"


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    # Only a repository the operator names is probed: this workplace reaches no public
    # package source but Debian's, and tests send no traffic to outside addresses.
    if "BIGDATA_TEST_MESOS_APT_REPOSITORY" not in os.environ:
        pytest.skip("no Mesos/Marathon package source is reachable here (AVENTER's repository, the default, is "
                    "outside this machine's network); set BIGDATA_TEST_MESOS_APT_REPOSITORY (and _SUITE, "
                    "_KEY_URL) to a reachable mirror to run these")
    reachable, why = repository_answers()
    if not reachable:
        pytest.skip(f"no Mesos/Marathon package source is reachable ({why}); set BIGDATA_TEST_MESOS_APT_REPOSITORY "
                    f"(and _SUITE, _KEY_URL) to a mirror to run these")
    known_groups = {group for component in ALL for group in component.settings.groups}
    if "docker" not in known_groups:
        pytest.fail("the Mesos agents' Docker containerizer needs the Docker engine, and no deploy has a "
                    "'docker' group yet (deploys/docker)")
    folder = tmp_path_factory.mktemp("mesos") / "inventories"
    folder.mkdir()
    (folder / "group_data").symlink_to(ROOT / "inventories" / "group_data")  # the local hosts' settings
    inventory = folder / "mesos_cluster.py"
    inventory.write_text(textwrap.dedent(f"""\
        from ctl.hosts import local_hosts
        from shared.secrets import secret
        from deploys.inventory import check_inventory
        _extra = {{"marathon_http_password": secret("BIGDATA_MARATHON_PASSWORD"), **{REPOSITORY!r}}}
        local = [(name, {{**data, **_extra}}) for name, data in local_hosts("mesos1", "mesos2", "mesos3")]
        zookeeper = mesos_master = mesos_agent = docker = local
        marathon = local[:2]
        check_inventory(__file__, globals())
        """))
    return request.getfixturevalue("rig")(str(inventory))


def _json(host, url: str, auth: str | None = None):
    credentials = f"-u '{auth}' " if auth else ""
    return json.loads(host.check_output(f"curl -fsS {credentials}{url}"))


def test_cluster_second_run_changes_nothing(cluster):
    assert cluster.second_run.changed == 0, cluster.second_run.output[-3000:]


def test_masters_elect_one_leader_with_a_majority_quorum(cluster):
    leaders = set()
    for host in cluster.hosts:
        state = _json(host, f"http://{host.backend.name}:5050/state")
        leaders.add(state["leader"])
        assert state["flags"]["quorum"] == "2"
        assert state["flags"]["zk"].startswith("zk://") and state["flags"]["zk"].endswith("/mesos")
        # frameworks and agents are registered, so they authenticated: the masters admit no other
        assert state["flags"]["authenticate_frameworks"] == state["flags"]["authenticate_agents"] == "true"
    assert len(leaders) == 1, f"masters disagree on the leader: {leaders}"


def test_agents_register_with_the_docker_containerizer(cluster):
    host = cluster.hosts[0]
    agents = _json(host, f"http://{host.backend.name}:5050/slaves")["slaves"]
    assert sorted(a["hostname"] for a in agents if a["active"]) == sorted(h.backend.name for h in cluster.hosts)
    for agent_host in cluster.hosts:
        flags = _json(agent_host, f"http://{agent_host.backend.name}:5051/flags")["flags"]
        assert flags["containerizers"] == "docker,mesos"


def test_marathon_answers_over_https_with_credentials_and_refuses_without(cluster):
    """HTTPS only (the platform's inventories turn TLS on), its certificate from the platform's CA."""
    password = os.environ["BIGDATA_MARATHON_PASSWORD"]
    for host in cluster.hosts[:2]:
        url = f"https://{host.backend.name}:8443/v2/info"
        info = _json(host, f"--cacert {CA} {url}", auth=f"bigdata:{password}")
        assert info["zookeeper_config"]["zk"].endswith("/marathon") and info["leader"]
        assert host.check_output(f"curl -s --cacert {CA} -o /dev/null -w '%{{http_code}}' {url}") == "401"
        assert host.check_output(f"curl -s --cacert {CA} -o /dev/null -w '%{{http_code}}' -u bigdata:wrong {url}") \
            == "401"
        assert host.run(f"nc -z -w 3 {host.backend.name} 8080").rc != 0, "plain HTTP is off"


def test_mesos_and_marathon_own_their_znodes(cluster):
    """What ZooKeeper holds for them is what deploys/zookeeper/acls.py says."""
    host = cluster.hosts[0]
    present = {acls.client("mesos"): ("/mesos", os.environ["BIGDATA_ZOOKEEPER_MESOS_PASSWORD"]),
               acls.client("marathon"): ("/marathon", os.environ["BIGDATA_ZOOKEEPER_MARATHON_PASSWORD"])}
    wanted = acls.wanted(os.environ["BIGDATA_ZOOKEEPER_ADMIN_PASSWORD"], present)
    lines = [line for path in wanted for line in (f"--acl {path}", *host.check_output(
        f"echo 'getAcl {path}' | zookeeper-admin 2>&1").splitlines())]
    assert parse_acls(lines) == wanted
