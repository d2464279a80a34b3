"""ZooKeeper and Spark settings: impossible inventories fail before any host is
touched, naming the key; derived sizes and rendered configuration follow the settings."""
from pathlib import Path

import jinja2
import pytest
from pyinfra.api.exceptions import InventoryError

from deploys import spark, zookeeper
from deploys.tls import ListenerFiles
from deploys.zookeeper import acls
from deploys.inventory import check_inventory
from inventory_kit import never_contacted, write_inventory

TEMPLATES = Path(__file__).resolve().parents[2] / "deploys"


SECRET = {"spark_auth_secret": "spark-secret-0123456789",  # the ones the Spark and ZooKeeper settings require
          "zookeeper_admin_password": "zookeeper-admin-0123456789"}


def inventory(tmp_path: Path, all_data: str = "") -> str:
    return write_inventory(tmp_path, "".join(f"{key} = {value!r}\n" for key, value in SECRET.items()) + all_data)


hosts = never_contacted


@pytest.mark.parametrize("size", [2, 4])
def test_even_zookeeper_ensemble_is_refused(tmp_path, size):
    with pytest.raises(InventoryError, match=rf"zookeeper: {size} hosts: a ZooKeeper ensemble needs an odd number"):
        check_inventory(inventory(tmp_path), {"zookeeper": hosts(size)})


@pytest.mark.parametrize("size", [1, 3, 5])
def test_odd_zookeeper_ensemble_is_accepted(tmp_path, size):
    assert len(check_inventory(inventory(tmp_path), {"zookeeper": hosts(size)})) == size


def test_zookeeper_port_clash_names_both_keys_and_the_file(tmp_path):
    path = inventory(tmp_path, "spark_worker_webui_port = 2181\n")
    with pytest.raises(InventoryError, match=r"group_data/all\.py: spark_worker_webui_port: port 2181 is also "
                                             r"zookeeper_client_port on host @docker/never-contacted-1"):
        check_inventory(path, {"zookeeper": hosts(1), "spark_master": hosts(1), "spark_worker": hosts(1)})


def test_zookeeper_ports_clashing_with_each_other(tmp_path):
    path = inventory(tmp_path, "zookeeper_election_port = 2888\n")
    with pytest.raises(InventoryError, match=r"zookeeper_election_port: port 2888 is also zookeeper_peer_port"):
        check_inventory(path, {"zookeeper": hosts(3)})


def test_zookeeper_without_srvr_is_refused(tmp_path):
    path = inventory(tmp_path, "zookeeper_4lw_commands = ('ruok', 'mntr')\n")
    with pytest.raises(InventoryError, match=r"zookeeper_4lw_commands: must include srvr"):
        check_inventory(path, {"zookeeper": hosts(1)})


def test_spark_workers_without_a_master_are_refused(tmp_path):
    with pytest.raises(InventoryError, match=r"spark_master: no host in group spark_master, but 3 spark_worker"):
        check_inventory(inventory(tmp_path), {"spark_worker": hosts(3)})


def test_two_spark_masters_are_refused(tmp_path):
    with pytest.raises(InventoryError, match=r"spark_master: 2 hosts; a standalone master .* runs on exactly one"):
        check_inventory(inventory(tmp_path), {"spark_master": hosts(2), "spark_worker": hosts(3)})


def test_executor_larger_than_a_worker_is_refused(tmp_path):
    path = inventory(tmp_path, "spark_worker_memory_mb = 1024\nspark_executor_memory_mb = 2048\n")
    with pytest.raises(InventoryError, match=r"all\.py: spark_executor_memory_mb: 2048 MB is more than a worker "
                                             r"offers \(spark_worker_memory_mb 1024\)"):
        check_inventory(path, {"spark_master": hosts(1), "spark_worker": hosts(1)})


def test_spark_value_out_of_range_names_the_key(tmp_path):
    path = inventory(tmp_path, "spark_worker_cores = 0\n")
    with pytest.raises(InventoryError, match=r"all\.py: spark_worker_cores: Input should be greater than or equal to 1"):
        check_inventory(path, {"spark_master": hosts(1), "spark_worker": hosts(1)})


def test_project_cluster_shape_is_accepted(tmp_path):
    (master, *_) = found = check_inventory(inventory(tmp_path), {
        "zookeeper": hosts(3), "spark_worker": hosts(3), "spark_master": hosts(1)})
    assert len(found) == 3 and "spark_master" in master.groups


@pytest.mark.parametrize("memory_mb, expected", [(2048, 256), (16384, 1024), (65536, 2048), (None, 256)])
def test_zookeeper_heap_from_memory(memory_mb, expected):
    assert zookeeper.heap_mb(zookeeper.Settings(**SECRET), memory_mb) == expected


def test_zookeeper_heap_override_wins():
    assert zookeeper.heap_mb(zookeeper.Settings(**SECRET, zookeeper_heap_mb=128), 65536) == 128


@pytest.mark.parametrize("memory_mb, expected", [(4096, 256), (16384, 512), (65536, 1024)])
def test_spark_daemon_heap_from_memory(memory_mb, expected):
    assert spark.daemon_heap_mb(spark.Settings(**SECRET), memory_mb) == expected
    assert spark.daemon_heap_mb(spark.Settings(**SECRET, spark_daemon_heap_mb=128), memory_mb) == 128


def test_spark_worker_offers_half_the_memory_and_every_core_unless_set():
    assert spark.worker_memory_mb(spark.Settings(**SECRET), 16384) == 8192
    assert spark.worker_memory_mb(spark.Settings(**SECRET), 1024) == 1024  # never less than 1 GiB
    assert spark.worker_memory_mb(spark.Settings(**SECRET, spark_worker_memory_mb=768), 16384) == 768
    assert spark.worker_cores(spark.Settings(**SECRET), 8) == 8
    assert spark.worker_cores(spark.Settings(**SECRET, spark_worker_cores=2), 8) == 2


def test_shuffle_partitions_are_the_cluster_cores_not_200():
    assert spark.shuffle_partitions(spark.Settings(**SECRET), cores_per_worker=2, workers=3) == 6
    assert spark.shuffle_partitions(spark.Settings(**SECRET, spark_sql_shuffle_partitions=12), 2, 3) == 12


def render(component: str, name: str, **context) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / component / "templates"),
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(name).render(**context)


def test_zoo_cfg_lists_the_ensemble_and_the_whitelist():
    dirs = {"data": "/d/data", "datalog": "/d/datalog", "logs": "/l"}
    servers = [(1, "a:2888:3888"), (2, "b:2888:3888"), (3, "c:2888:3888")]
    lines = render("zookeeper", "zoo.cfg.j2", settings=zookeeper.Settings(**SECRET), dirs=dirs, servers=servers,
                   plaintext=True, tls=None, keystore=None, super_digest="admin:x").splitlines()
    assert [line for line in lines if line.startswith("server.")] == [
        "server.1=a:2888:3888", "server.2=b:2888:3888", "server.3=c:2888:3888"]
    for line in ("4lw.commands.whitelist=srvr,ruok,mntr", "clientPort=2181", "dataDir=/d/data",
                 "dataLogDir=/d/datalog", "admin.enableServer=false"):
        assert line in lines


TLS = ListenerFiles("/t/ca.crt", "/t/host.crt", "/t/host.key", "bigdata", "d1")


def zoo_cfg(tls: ListenerFiles | None, plaintext: bool) -> dict[str, str]:
    dirs = {"data": "/d/data", "datalog": "/d/datalog", "logs": "/l"}
    text = render("zookeeper", "zoo.cfg.j2", settings=zookeeper.Settings(**SECRET), dirs=dirs,
                  servers=[(1, "a:2888:3888")], plaintext=plaintext, tls=tls, keystore=tls and "/c/keystore-d1.pem",
                  super_digest=acls.digest_id(acls.ADMIN, SECRET["zookeeper_admin_password"]))
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_zoo_cfg_enforces_a_login_and_names_the_admin_by_digest_only():
    for tls, plaintext in ((None, True), (TLS, False)):
        config = zoo_cfg(tls, plaintext)
        assert config["enforce.auth.enabled"] == "true" and config["enforce.auth.schemes"] == "digest"
        assert config["DigestAuthenticationProvider.superDigest"].startswith("admin:")
        assert SECRET["zookeeper_admin_password"] not in str(config)


def test_zoo_cfg_with_tls_closes_the_plaintext_port_unless_a_client_needs_it():
    secured = zoo_cfg(TLS, plaintext=False)
    assert "clientPort" not in secured and secured["secureClientPort"] == "2281"
    assert secured["sslQuorum"] == "true" and secured["ssl.quorum.keyStore.location"] == "/c/keystore-d1.pem"
    assert secured["ssl.quorum.trustStore.location"] == secured["ssl.trustStore.location"] == "/t/ca.crt"
    assert secured["serverCnxnFactory"] == "org.apache.zookeeper.server.NettyServerCnxnFactory"
    with_mesos = zoo_cfg(TLS, plaintext=True)  # Mesos' client speaks no TLS
    assert with_mesos["clientPort"] == "2181" and with_mesos["secureClientPort"] == "2281"
    plain = zoo_cfg(None, plaintext=True)
    assert plain["clientPort"] == "2181" and "secureClientPort" not in plain and "sslQuorum" not in plain


def test_the_root_is_the_admins_and_each_client_owns_its_znode():
    mesos, marathon = acls.client("mesos"), acls.client("marathon")
    wanted = acls.wanted("admin-pw", {mesos: ("/mesos", "mesos-pw"), marathon: ("/marathon", "marathon-pw")})
    admin = f"digest:{acls.digest_id('admin', 'admin-pw')}:cdrwa"
    assert wanted["/"] == [admin]
    assert wanted["/marathon"] == sorted([admin, f"digest:{acls.digest_id('marathon', 'marathon-pw')}:cdrwa"])
    # Marathon finds the leading Mesos master in Mesos' znode: it reads it, nothing more
    assert wanted["/mesos"] == sorted([admin, f"digest:{acls.digest_id('mesos', 'mesos-pw')}:cdrwa",
                                       f"digest:{acls.digest_id('marathon', 'marathon-pw')}:r"])
    assert acls.wanted("admin-pw", {}) == {"/": [admin]}  # no Mesos, no Marathon: only the root


def test_spark_defaults_carry_master_and_partitions():
    dirs = {"tmp": "/d/tmp"}
    text = render("spark", "spark-defaults.conf.j2", settings=spark.Settings(**SECRET, spark_executor_memory_mb=512),
                  master_url="spark://m:7077", shuffle_partitions=6, dirs=dirs, auth_conf=spark.AUTH_CONF)
    conf = dict(line.split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    assert conf["spark.master"] == "spark://m:7077"
    assert conf["spark.sql.shuffle.partitions"] == "6"
    assert conf["spark.executor.memory"] == "512m"
    assert conf["spark.authenticate"] == "true" and conf["spark.network.crypto.enabled"] == "true"
    assert conf["spark.ui.killEnabled"] == "false"
    assert conf["spark.master.rest.enabled"] == "false"  # its submissions take no part in spark.authenticate
    assert "spark-secret-0123456789" not in text  # the secret lives in root-only files, never here


def test_acl_commands_create_what_is_missing_and_set_only_what_differs():
    mesos = acls.client("mesos")
    wanted = acls.wanted("admin-pw", {mesos: ("/platform/mesos", "mesos-pw")})
    admin_only, mesos_acl = ",".join(wanted["/"]), ",".join(wanted["/platform/mesos"])
    fresh = acls.commands(wanted, None)  # nothing known: all of it
    assert fresh == [f"setAcl / {admin_only}", "create /platform", f"setAcl /platform {admin_only}",
                     "create /platform/mesos", f"setAcl /platform/mesos {mesos_acl}"]
    held = {"/": wanted["/"], "/platform/mesos": ["digest:mesos:old=:cdrwa"]}  # a rotated password
    assert acls.commands(wanted, held) == [f"setAcl /platform/mesos {mesos_acl}"]
    assert acls.commands(wanted, {**held, "/platform/mesos": wanted["/platform/mesos"]}) == []
