"""What the Kafka deploy reads on a host to decide a run: the admin's password in its
client settings (as SHA-256) and the brokers' own listener, each fact's command run
by a real shell on files rendered from the deploy's own templates."""
import hashlib
import subprocess
from pathlib import Path

import jinja2
import pytest

from deploys.common import template
from deploys.kafka import Settings
from deploys.kafka.facts import AdminPasswordDigest, InterBrokerListener
from test_kafka_settings import SECRETS

TEMPLATES = Path(template("deploys.kafka", "client.properties.j2")).parent


def render(name: str, **values) -> str:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined) \
        .get_template(name).render(**values)


def fact_of(fact, **args):
    done = subprocess.run(["sh", "-c", fact.command(**args)], capture_output=True, text=True, check=True)
    return fact.process(done.stdout.splitlines())


@pytest.mark.parametrize("tls", [None, type("Tls", (), {"ca": "/etc/bigdata/tls/ca.crt"})()], ids=["plaintext", "tls"])
def test_the_admin_password_digest_is_that_of_the_password_the_settings_hold(tmp_path, tls):
    password = "Abc.def~ghi+jkl/mno@pqr%stu:vwx!yz#0*1-2"
    path = tmp_path / "admin.properties"
    path.write_text(render("client.properties.j2", bootstrap="bigdata:9092", user_name="admin", password=password,
                           path=str(path), tls=tls))
    assert fact_of(AdminPasswordDigest(), path=str(path)) == hashlib.sha256(password.encode()).hexdigest()


def test_no_admin_settings_no_digest(tmp_path):
    assert fact_of(AdminPasswordDigest(), path=str(tmp_path / "absent.properties")) is None


@pytest.mark.parametrize("tls, listener", [(True, "INTERNAL"), (False, "BROKER")])
def test_the_inter_broker_listener_is_read_from_the_rendered_server_properties(tmp_path, tls, listener):
    settings = Settings(**SECRETS, kafka_log_retention_mb=512)
    files = type("Files", (), {"ca": "/ca.crt", "key": "/host.key", "cert": "/host.crt"})() if tls else None
    path = tmp_path / "server.properties"
    path.write_text(render("server.properties.j2", settings=settings, node_id=1, bind_address="10.0.0.1",
                           advertised_host="bigdata", voters=["1@bigdata:9093"], admin_user="admin",
                           super_users=["User:admin", "User:bigdata"] if tls else ["User:admin"],
                           data_dir="/data", replication=1, min_insync=1, tls=files, keystore="/ks.pem"))
    text = path.read_text()
    assert fact_of(InterBrokerListener(), path=str(path)) == listener
    assert f"log.retention.bytes={512 * 1024 * 1024}" in text.splitlines()
    if tls:  # no password between the nodes: the brokers' listeners authenticate by certificate
        assert "super.users=User:admin;User:bigdata" in text and 'password="' not in text
        assert "listener.name.internal.ssl.client.auth=required" in text
        assert "listener.name.controller.ssl.client.auth=required" in text
    assert fact_of(InterBrokerListener(), path=str(tmp_path / "absent")) is None
