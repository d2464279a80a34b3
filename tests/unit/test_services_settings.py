"""Settings come from the environment, with documented defaults and clear errors."""
from pathlib import Path

import pytest

from services.core import clients
from services.core.settings import Settings, SettingError, describe

README = Path(__file__).resolve().parents[2] / "services" / "README.md"


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.kafka_user is None  # each service's own: its app definition names it
    assert settings.producer_source == "synthetic" and settings.producer_rate == 1000.0
    assert settings.kafka_password is None


def test_values_are_parsed_by_type():
    settings = Settings.from_env({"BIGDATA_PRODUCER_RATE": "250.5", "BIGDATA_WRITER_BATCH": "10",
                                  "BIGDATA_REPLAY_LOOP": "no", "BIGDATA_CASSANDRA_HOSTS": "a, b,,c",
                                  "BIGDATA_PRODUCER_SYMBOLS": "AAPL,MSFT"})
    assert settings.producer_rate == 250.5 and settings.writer_batch == 10 and settings.replay_loop is False
    assert settings.cassandra_hosts == ("a", "b", "c") and settings.producer_symbols == ("AAPL", "MSFT")


@pytest.mark.parametrize("env,needle", [
    ({"BIGDATA_WRITER_BATCH": "many"}, "BIGDATA_WRITER_BATCH"),
    ({"BIGDATA_WRITER_BATCH": "0"}, "BIGDATA_WRITER_BATCH: must be greater than 0"),
    ({"BIGDATA_PRODUCER_SOURCE": "fax"}, "BIGDATA_PRODUCER_SOURCE"),
    ({"BIGDATA_REPLAY_LOOP": "perhaps"}, "BIGDATA_REPLAY_LOOP"),
    ({"BIGDATA_PRODUCER_CURRENCY": "XXX"}, "BIGDATA_PRODUCER_CURRENCY"),
    ({"BIGDATA_KAFKA_AUTO_OFFSET_RESET": "middle"}, "BIGDATA_KAFKA_AUTO_OFFSET_RESET"),
])
def test_bad_values_name_their_variable(env, needle):
    with pytest.raises(SettingError, match=needle):
        Settings.from_env(env)


def test_missing_secrets_name_their_variable():
    with pytest.raises(SettingError, match=r"BIGDATA_KAFKA_USER is not set \(set it"):
        clients.producer_config(Settings.from_env({"BIGDATA_KAFKA_PASSWORD": "p" * 20}))
    with pytest.raises(SettingError, match=r"BIGDATA_KAFKA_PASSWORD is not set \(a secret: set it"):
        clients.producer_config(Settings.from_env({"BIGDATA_KAFKA_USER": "producer"}))
    with pytest.raises(SettingError, match="BIGDATA_REDIS_PASSWORD"):
        Settings.from_env({}).require("redis_password")


def test_a_secret_is_read_from_the_file_its_FILE_variable_names(tmp_path):
    secret_file = tmp_path / "redis-password"
    secret_file.write_text("from-a-file\n")  # as `docker secret create` keeps what it is given
    settings = Settings.from_env({"BIGDATA_REDIS_PASSWORD_FILE": str(secret_file)})
    assert settings.redis_password.get_secret_value() == "from-a-file"
    both = Settings.from_env({"BIGDATA_REDIS_PASSWORD": "direct", "BIGDATA_REDIS_PASSWORD_FILE": str(secret_file)})
    assert both.redis_password.get_secret_value() == "direct"
    with pytest.raises(SettingError, match="BIGDATA_REDIS_PASSWORD_FILE=.*missing: cannot be read"):
        Settings.from_env({"BIGDATA_REDIS_PASSWORD_FILE": str(tmp_path / "missing")})
    # only secrets: a setting that is not one has no _FILE variant
    assert Settings.from_env({"BIGDATA_KAFKA_USER_FILE": str(secret_file)}).kafka_user is None


def test_secrets_are_hidden_from_the_logged_settings():
    settings = Settings.from_env({"BIGDATA_KAFKA_PASSWORD": "s3cret-value"})
    public = settings.public()
    assert public["kafka_password"] == "***" and "s3cret-value" not in str(public)
    assert "s3cret-value" not in repr(settings) and settings.require("kafka_password") == "s3cret-value"


def test_http_port_setting_then_marathon_then_default():
    assert Settings.from_env({"BIGDATA_HTTP_PORT": "9000"}).port_for(8010, {"PORT0": "31000"}) == 9000
    assert Settings.from_env({}).port_for(8010, {"PORT0": "31000"}) == 31000
    assert Settings.from_env({}).port_for(8010, {}) == 8010


def test_producer_is_durable_and_consumers_commit_themselves():
    settings = Settings.from_env({"BIGDATA_KAFKA_USER": "producer", "BIGDATA_KAFKA_PASSWORD": "p" * 20})
    producer = clients.producer_config(settings)
    assert producer["acks"] == "all" and producer["enable.idempotence"] is True
    assert producer["sasl.mechanism"] == "SCRAM-SHA-512" and producer["security.protocol"] == "SASL_PLAINTEXT"
    assert producer["sasl.username"] == "producer"
    consumer = clients.consumer_config(settings, "g")
    assert consumer["enable.auto.commit"] is False and consumer["enable.auto.offset.store"] is False


def test_kafka_over_tls_checks_the_brokers_certificates_and_names(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    login = {"BIGDATA_KAFKA_USER": "producer", "BIGDATA_KAFKA_PASSWORD": "p" * 20}
    tls = {**login, "BIGDATA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    config = clients.kafka_common(Settings.from_env({**tls, "BIGDATA_TLS_CA_FILE": str(ca)}))
    assert config["security.protocol"] == "SASL_SSL" and config["ssl.ca.location"] == str(ca)
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    assert "ssl.ca.location" not in clients.kafka_common(Settings.from_env(login))
    with pytest.raises(SettingError, match="BIGDATA_TLS_CA_FILE is not set"):
        clients.kafka_common(Settings.from_env(tls))
    with pytest.raises(SettingError, match="not a readable file"):
        clients.kafka_common(Settings.from_env({**tls, "BIGDATA_TLS_CA_FILE": str(tmp_path / "missing.crt")}))
    with pytest.raises(SettingError, match="BIGDATA_KAFKA_SECURITY_PROTOCOL"):
        Settings.from_env({"BIGDATA_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})


def test_every_setting_is_documented_in_the_services_readme():
    text = README.read_text()
    missing = [env for env, _, _ in describe() if f"`{env}`" not in text]
    assert not missing, f"services/README.md does not document {missing}"
