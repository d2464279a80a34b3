"""Kafka's settings: impossible inventories fail at load, naming the key; the
derived values (cluster id, replication, heap) are what the deploy relies on."""
import textwrap
from pathlib import Path

import pytest
from pyinfra.api.exceptions import InventoryError

from deploys.kafka import Settings
from deploys.kafka.users import USERS
from deploys.inventory import check_inventory
from inventory_kit import never_contacted, write_inventory

SECRETS = {"kafka_admin_password": "admin-secret-0123456789",
           **{user.password_setting: f"{user.name}-secret-0123456789" for user in USERS}}


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
    (tmp_path / "group_data" / "all.py").write_text("".join(
        f"{key} = {value!r}\n" for key, value in SECRETS.items() if key != "kafka_writer_password"))
    path = tmp_path / "site.py"
    path.write_text("")
    with pytest.raises(InventoryError, match=r"kafka_writer_password: missing \(a secret: set "
                                             r"BIGDATA_KAFKA_WRITER_PASSWORD"):
        check_inventory(str(path), {"kafka": brokers(1)})


def test_password_that_would_break_jaas_is_refused(tmp_path):
    path = inventory(tmp_path, "kafka_live_lane_password = 'has \"quotes\" and spaces'\n")
    with pytest.raises(InventoryError, match=r"all\.py: kafka_live_lane_password: String should match pattern"):
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


def test_each_app_logs_in_as_its_own_kafka_user_with_that_users_secret():
    """The apps' definitions and deploys/kafka/users.py agree: one user per Kafka-using app,
    its password from that user's secret, a setting and a secret the platform knows."""
    from marathon import apps
    from shared.secrets import NAMES
    logins = {}
    for app in apps.load():
        env = app.definition["env"]
        if "BIGDATA_KAFKA_USER" in env:
            secret = env["BIGDATA_KAFKA_PASSWORD"]["secret"]
            logins[app.name] = (env["BIGDATA_KAFKA_USER"], app.definition["secrets"][secret]["source"])
        else:
            assert not any(key.startswith("BIGDATA_KAFKA_") for key in env), app.name
    assert sorted(logins.values()) == sorted((user.name, user.secret) for user in USERS), logins
    assert all(name == user_name for name, (user_name, _) in logins.items()), "an app's user is named after it"
    for user in USERS:
        assert user.password_setting in Settings.model_fields and user.secret in NAMES
