"""Kafka's settings: impossible inventories fail at load, naming the key; the
derived values (cluster id, replication, heap) are what the deploy relies on."""
import textwrap
from pathlib import Path

import pytest
from pyinfra.api.exceptions import InventoryError

from deploys.kafka import Settings
from deploys.inventory import check_inventory
from inventory_kit import never_contacted, write_inventory

SECRETS = {"kafka_admin_password": "admin-secret-0123456789", "kafka_client_password": "client-secret-0123456789"}


def inventory(tmp_path: Path, all_data: str = "") -> str:
    secrets = "".join(f"{key} = {value!r}\n" for key, value in SECRETS.items())
    return write_inventory(tmp_path, secrets + textwrap.dedent(all_data))


brokers = never_contacted


def test_replication_factor_above_broker_count_is_named(tmp_path):
    path = inventory(tmp_path, "kafka_replication_factor = 3\n")
    with pytest.raises(InventoryError, match=r"group_data/all\.py: kafka_replication_factor: 3 replicas, "
                                             r"but group kafka has only 2 broker\(s\)"):
        check_inventory(path, {"kafka": brokers(2)})


def test_replication_factor_within_broker_count_loads(tmp_path):
    path = inventory(tmp_path, "kafka_replication_factor = 3\n")
    hosts = check_inventory(path, {"kafka": brokers(3)})
    assert len(hosts) == 3


def test_min_insync_above_replication_is_named(tmp_path):
    path = inventory(tmp_path, "kafka_min_insync_replicas = 2\n")
    with pytest.raises(InventoryError, match=r"all\.py: kafka_min_insync_replicas: 2 in-sync replicas required, "
                                             r"but topics have only 1 replica"):
        check_inventory(path, {"kafka": brokers(1)})


def test_port_clash_between_kafka_listeners_is_named(tmp_path):
    path = inventory(tmp_path, "kafka_controller_port = 9092\n")
    with pytest.raises(InventoryError, match=r"all\.py: kafka_controller_port: port 9092 is also kafka_port"):
        check_inventory(path, {"kafka": brokers(1)})


def test_port_clash_with_another_component_on_the_host_is_named(tmp_path):
    path = inventory(tmp_path, "kafka_port = 6379\n" + "".join(
        f"redis_{user}password = 'redis-secret-0123456789'\n" for user in ("", "publisher_", "live_lane_", "dashboard_")))
    # both keys are named (the second one found is the one reported)
    with pytest.raises(InventoryError, match=r"(kafka_port: port 6379 is also redis_port|"
                                             r"redis_port: port 6379 is also kafka_port) on host"):
        check_inventory(path, {"kafka": brokers(1), "redis": brokers(1)})


def test_missing_kafka_secret_is_named_with_its_variable(tmp_path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text("kafka_admin_password = 'admin-secret-0123456789'\n")
    path = tmp_path / "site.py"
    path.write_text("")
    with pytest.raises(InventoryError, match=r"kafka_client_password: missing \(a secret: set "
                                             r"BIGDATA_KAFKA_CLIENT_PASSWORD"):
        check_inventory(str(path), {"kafka": brokers(1)})


def test_password_that_would_break_jaas_is_refused(tmp_path):
    path = inventory(tmp_path, "kafka_client_password = 'has \"quotes\" and spaces'\n")
    with pytest.raises(InventoryError, match=r"all\.py: kafka_client_password: String should match pattern"):
        check_inventory(path, {"kafka": brokers(1)})


def test_cluster_id_setting_must_be_a_kafka_uuid(tmp_path):
    path = inventory(tmp_path, "kafka_cluster_id = 'not-a-cluster-id'\n")
    with pytest.raises(InventoryError, match=r"all\.py: kafka_cluster_id: String should match pattern"):
        check_inventory(path, {"kafka": brokers(1)})


def test_cluster_id_is_stable_and_follows_the_cluster_name():
    first = Settings(**SECRETS).cluster_id()
    assert first == Settings(**SECRETS).cluster_id() and len(first) == 22
    assert Settings(**SECRETS, kafka_cluster_name="other").cluster_id() != first
    assert Settings(**SECRETS, kafka_cluster_id="MkU3OEVBNTcwNTJENDM2Qk").cluster_id() == "MkU3OEVBNTcwNTJENDM2Qk"


@pytest.mark.parametrize("count, replication, min_insync", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_replication_defaults_follow_the_broker_count(count, replication, min_insync):
    settings = Settings(**SECRETS)
    assert (settings.replication(count), settings.min_insync(count)) == (replication, min_insync)


def test_heap_from_memory_with_bounds_and_override():
    settings = Settings(**SECRETS)
    assert settings.heap_mb(8192) == 2048
    assert settings.heap_mb(512) == 256 and settings.heap_mb(65536) == 6144
    assert Settings(**SECRETS, kafka_heap_mb=512).heap_mb(65536) == 512
