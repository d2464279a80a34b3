"""deploys/mesos and deploys/marathon: impossible cluster shapes fail when the
inventory loads, naming the key; the derived values (ZooKeeper URLs, quorum) and the
configuration files are what the daemons need."""
from pathlib import Path

import jinja2
import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.exceptions import InventoryError
from pyinfra.context import ctx_inventory, ctx_state

from deploys import marathon, mesos
from deploys.inventory import check_inventory
from deploys.tls import ListenerFiles
from inventory_kit import never_contacted, write_inventory

PASSWORD = "marathon-secret-0123456789"
TOKEN = "producer-token-0123456789"  # the marathon hosts run the pipeline's apps
ZK_USERS = ("admin", "mesos", "marathon")  # each logs in to ZooKeeper (deploys/zookeeper/acls.py)
MESOS_SECRETS = {"mesos_marathon_secret": "framework-secret-0123456789", "mesos_agent_secret": "agent-secret-0123456789"}


def inventory(tmp_path: Path, all_data: str = "") -> str:
    return write_inventory(tmp_path, f"marathon_http_password = {PASSWORD!r}\nproducer_token = {TOKEN!r}\n"
                           f"spark_auth_secret = {PASSWORD!r}\n"
                           + "".join(f"zookeeper_{user}_password = {PASSWORD!r}\n" for user in ZK_USERS)
                           + "".join(f"{key} = {value!r}\n" for key, value in MESOS_SECRETS.items()) + all_data)


hosts = never_contacted


def test_a_three_node_cluster_loads(tmp_path):
    three = hosts(3)
    loaded = check_inventory(inventory(tmp_path), {"zookeeper": three, "mesos_master": three, "mesos_agent": three,
                                                   "marathon": three[:2]})
    assert len(loaded) == 3


@pytest.mark.parametrize("groups, expected", [
    ({"zookeeper": 1, "mesos_agent": 2}, r"mesos_master: no host in group mesos_master, but 2 mesos_agent host\(s\): "
                                         r"agents need masters"),
    ({"mesos_master": 1, "mesos_agent": 1}, r"zookeeper: 1 mesos_master host\(s\), but no host in group zookeeper"),
    ({"zookeeper": 1, "marathon": 1}, r"marathon: 1 marathon host\(s\), but no host in group mesos_master"),
    ({"mesos_master": 1, "marathon": 1}, r"zookeeper: 1 marathon host\(s\), but no host in group zookeeper"),
], ids=["agents-without-masters", "masters-without-zookeeper", "marathon-without-masters",
        "marathon-without-zookeeper"])
def test_impossible_shapes_are_named(tmp_path, groups, expected):
    with pytest.raises(InventoryError, match=expected):
        check_inventory(inventory(tmp_path), {group: hosts(n) for group, n in groups.items()})


@pytest.mark.parametrize("quorum, expected", [
    (4, r"mesos_quorum: 4, but group mesos_master has only 3 host\(s\)"),
    (1, r"mesos_quorum: 1 of 3 masters is no majority: .* \(use 2\)"),
])
def test_a_quorum_that_cannot_work_is_named(tmp_path, quorum, expected):
    three = hosts(3)
    with pytest.raises(InventoryError, match=rf"group_data/all\.py: {expected}"):
        check_inventory(inventory(tmp_path, f"mesos_quorum = {quorum}\n"),
                        {"zookeeper": three, "mesos_master": three})


def test_mesos_and_marathon_each_need_their_zookeeper_password(tmp_path):
    """Each logs in to ZooKeeper as its own user (deploys/zookeeper/acls.py)."""
    for user, groups in (("mesos", ("mesos_master",)), ("marathon", ("mesos_master", "marathon"))):
        data = "".join(f"zookeeper_{other}_password = {PASSWORD!r}\n" for other in ZK_USERS if other != user)
        path = write_inventory(tmp_path, f"marathon_http_password = {PASSWORD!r}\nproducer_token = {TOKEN!r}\n"
                                         f"spark_auth_secret = {PASSWORD!r}\n" + data)
        with pytest.raises(InventoryError, match=rf"zookeeper_{user}_password: missing \(a secret: set "
                                                 rf"BIGDATA_ZOOKEEPER_{user.upper()}_PASSWORD"):
            check_inventory(path, {"zookeeper": hosts(1), **{group: hosts(1) for group in groups}})


def test_agents_must_run_docker(tmp_path):
    with pytest.raises(InventoryError, match=r"mesos_agent_containerizers: must include docker"):
        check_inventory(inventory(tmp_path, "mesos_agent_containerizers = ('mesos',)\n"),
                        {"zookeeper": hosts(1), "mesos_master": hosts(1), "mesos_agent": hosts(1)})


def test_missing_marathon_password_names_its_variable(tmp_path):
    (tmp_path / "group_data").mkdir()
    path = tmp_path / "site.py"
    path.write_text("")
    with pytest.raises(InventoryError,
                       match=r"marathon_http_password: missing \(a secret: set BIGDATA_MARATHON_PASSWORD"):
        check_inventory(str(path), {"zookeeper": hosts(1), "mesos_master": hosts(1), "marathon": hosts(1)})


@pytest.mark.parametrize("key, value, expected", [
    ("marathon_http_password", "has spaces and 'quotes' in it", "String should match pattern"),
    ("marathon_http_user", "ad:min", "String should match pattern"),
    ("mesos_agent_attributes", {"rack": "r1;evil:1"}, "values carry no ';'"),
])
def test_values_that_would_break_the_configuration_are_refused(tmp_path, key, value, expected):
    with pytest.raises(InventoryError, match=rf"{key}: .*{expected}"):
        check_inventory(inventory(tmp_path, f"{key} = {value!r}\n"),
                        {"zookeeper": hosts(1), "mesos_master": hosts(1), "mesos_agent": hosts(1),
                         "marathon": hosts(1)})


def test_marathon_port_clash_with_the_spark_master_ui_is_named(tmp_path):
    one = hosts(1)
    with pytest.raises(InventoryError, match=r"(marathon_http_port: port 8080 is also spark_master_webui_port|"
                                             r"spark_master_webui_port: port 8080 is also marathon_http_port)"):
        check_inventory(inventory(tmp_path), {"zookeeper": one, "mesos_master": one, "marathon": one,
                                              "spark_master": one})


@pytest.mark.parametrize("masters, expected", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_quorum_is_a_majority_of_the_masters(masters, expected):
    assert mesos.quorum(mesos.Settings(**MESOS_SECRETS, zookeeper_mesos_password=PASSWORD), masters) == expected
    assert mesos.quorum(mesos.Settings(**MESOS_SECRETS, zookeeper_mesos_password=PASSWORD, mesos_quorum=masters), masters) == masters  # a set one wins


def test_zookeeper_urls_name_every_server_with_its_port():
    names = ["@docker/zk1", "@docker/zk2", "@docker/zk3"]
    data = {"zookeeper_client_port": 2182, "zookeeper_admin_password": PASSWORD}
    inv = Inventory((names, {}), zookeeper=([(n, {"address": n[8:] + ".example", **data}) for n in names], {}))
    with ctx_state.use(State(inv, Config())), ctx_inventory.use(inv):
        assert mesos.zk_url("/mesos") == "zk://zk1.example:2182,zk2.example:2182,zk3.example:2182/mesos"
        assert mesos.zk_url("/marathon").endswith(":2182/marathon")
        # logged in as a client's own ZooKeeper user (the plaintext port: Mesos' client has no TLS)
        assert mesos.zk_url("/marathon", "marathon", "pw-0123456789abcdef") == \
            "zk://marathon:pw-0123456789abcdef@zk1.example:2182,zk2.example:2182,zk3.example:2182/marathon"


def _render(deploy, name: str, **context) -> str:
    folder = Path(deploy.__file__).parent / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined) \
        .get_template(name).render(**context)


def test_master_and_agent_configuration():
    settings = mesos.Settings(**MESOS_SECRETS, zookeeper_mesos_password=PASSWORD,
                              mesos_agent_attributes={"rack": "r1", "zone": "a"})
    common = dict(settings=settings, bind_address="10.0.0.5", hostname="node1", zk="zk://a:2181,b:2181,c:2181/mesos")
    master = _render(mesos, "mesos-master.env.j2", **common, quorum=2, masters=3, work_dir="/var/lib/mesos/master",
                     credentials=mesos.CREDENTIALS)
    assert {"MESOS_ZK=zk://a:2181,b:2181,c:2181/mesos", "MESOS_QUORUM=2", "MESOS_IP=10.0.0.5", "MESOS_PORT=5050",
            "MESOS_HOSTNAME=node1", "MESOS_WORK_DIR=/var/lib/mesos/master"} <= set(master.splitlines())
    # only authenticated frameworks and agents register; the secrets stay in the credentials file
    assert {"MESOS_AUTHENTICATE_FRAMEWORKS=true", "MESOS_AUTHENTICATE_AGENTS=true",
            "MESOS_AUTHENTICATE_HTTP_READWRITE=true", f"MESOS_CREDENTIALS={mesos.CREDENTIALS}"} <= set(master.splitlines())
    agent = _render(mesos, "mesos-agent.env.j2", **common, resources=mesos.resources(settings),
                    attributes=mesos.attributes(settings), containerizers="docker,mesos",
                    work_dir="/var/lib/mesos/agent", credential=mesos.AGENT_CREDENTIAL)
    assert {"MESOS_MASTER=zk://a:2181,b:2181,c:2181/mesos", "MESOS_CONTAINERIZERS=docker,mesos",
            "MESOS_RESOURCES=ports:[8050-8050, 31000-32000]", "MESOS_ATTRIBUTES=rack:r1;zone:a",
            "MESOS_PORT=5051", "MESOS_WORK_DIR=/var/lib/mesos/agent",
            f"MESOS_CREDENTIAL={mesos.AGENT_CREDENTIAL}"} <= set(agent.splitlines())
    assert not any(secret in master + agent for secret in MESOS_SECRETS.values())
    unit = _render(mesos, "mesos-agent.service.j2", sbin="/usr/sbin", nofile=20000)
    assert "ExecStart=/usr/sbin/mesos-agent" in unit and "Requires=docker.service" in unit
    assert "KillMode=process" in unit  # containers outlive an agent restart


def test_marathon_configuration_carries_ha_and_basic_auth():
    settings = marathon.Settings(marathon_http_password=PASSWORD, zookeeper_marathon_password=PASSWORD,
                                 marathon_enable_features=("secrets",))
    env = _render(marathon, "marathon.env.j2", settings=settings, bind_address="10.0.0.5", hostname="node1",
                  master="zk://a:2181,b:2181/mesos", zk="zk://a:2181,b:2181/marathon", service_user="bigdata",
                  tls=None, keystore=None, principal=mesos.FRAMEWORK_PRINCIPAL, secret_file=marathon.MESOS_SECRET)
    assert {"MARATHON_MASTER=zk://a:2181,b:2181/mesos", "MARATHON_ZK=zk://a:2181,b:2181/marathon",
            f"MARATHON_HTTP_CREDENTIALS=bigdata:{PASSWORD}", "MARATHON_HTTP_PORT=8080",
            "MARATHON_ENABLE_FEATURES=secrets", 'JAVA_OPTS="-Xms512m -Xmx512m"'} <= set(env.splitlines())
    assert {"MARATHON_MESOS_AUTHENTICATION_PRINCIPAL=marathon",
            f"MARATHON_MESOS_AUTHENTICATION_SECRET_FILE={marathon.MESOS_SECRET}"} <= set(env.splitlines())
    unit = _render(marathon, "marathon.service.j2", settings=settings, service_user="bigdata", tls=None)
    assert "EnvironmentFile=/etc/default/marathon" in unit and "User=bigdata" in unit
    assert "--mesos_authentication" in unit and "--disable_http" not in unit
    assert PASSWORD not in unit  # the credentials stay in the root-only environment file


def test_marathon_with_tls_serves_https_only():
    settings = marathon.Settings(marathon_http_password=PASSWORD, zookeeper_marathon_password=PASSWORD)
    tls = ListenerFiles("/t/ca.crt", "/t/host.crt", "/t/host.key", "bigdata", "d1")
    env = _render(marathon, "marathon.env.j2", settings=settings, bind_address="10.0.0.5", hostname="node1",
                  master="zk://a/mesos", zk="zk://a/marathon", service_user="bigdata", tls=tls,
                  keystore="/etc/marathon/keystore-d1.p12", principal="marathon", secret_file=marathon.MESOS_SECRET)
    lines = set(env.splitlines())
    assert {"MARATHON_HTTPS_PORT=8443", "MARATHON_HTTPS_ADDRESS=10.0.0.5",
            "MARATHON_SSL_KEYSTORE_PATH=/etc/marathon/keystore-d1.p12"} <= lines
    assert not any(line.startswith("MARATHON_HTTP_PORT=") for line in lines)
    assert "--disable_http" in _render(marathon, "marathon.service.j2", settings=settings, service_user="bigdata",
                                       tls=tls)
