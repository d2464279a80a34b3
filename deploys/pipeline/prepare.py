"""The definitions as this inventory runs them, the same for Marathon and Swarm: the
images' tags, the site env computed once from the inventory, scaling, the apps' env and,
when asked, the secrets' values inlined (marathon.apps.prepare)."""
from pathlib import Path

from pyinfra import host
from pyinfra.api.exceptions import DeployError

from shared import secrets
from deploys.cassandra import Settings as CassandraSettings
from deploys.kafka import Settings as KafkaSettings
from deploys.pipeline.settings import Settings
from deploys.redis import Settings as RedisSettings
from deploys.spark import Settings as SparkSettings
from deploys.swarm import MANAGERS, WORKERS
from deploys.tls import CA_FILE, Settings as TlsSettings
from deploys.topology import address, members
from marathon import apps as app_defs
from marathon.apps import App
from marathon.schema import AppDefinitionError


def setting(member, model, key):
    """A member's setting: its inventory data, else the model's default."""
    return member.data.get(key) or model.model_fields[key].default


def tls_ca(member) -> str | None:
    """Where a host with TLS on keeps the platform's CA certificate (the same path on every
    host, each app's container sees it there), or None when its TLS is off."""
    tls = TlsSettings.from_host(member)
    return f"{tls.tls_dir}/{CA_FILE}" if tls.tls_enabled else None


def site_files() -> list[str]:
    """Host files every app's containers see read-only: the CA's certificate when TLS is on."""
    return sorted({ca for member in members(MANAGERS) + members(WORKERS) + members("marathon")
                   if (ca := tls_ca(member))})


def site_env() -> dict[str, str]:
    """Where the backends are (services/core/settings.py and services/stream_processor/
    settings.py name these): the same for every app, on Marathon and locally. A group
    the inventory lacks leaves the services' default."""
    env = {}
    if kafka := members("kafka"):
        env["BIGDATA_KAFKA_BOOTSTRAP"] = ",".join(f"{address(m)}:{setting(m, KafkaSettings, 'kafka_port')}"
                                                  for m in kafka)
        if ca := tls_ca(kafka[0]):
            env |= {"BIGDATA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "BIGDATA_TLS_CA_FILE": ca}
    if cassandra := members("cassandra"):
        env["BIGDATA_CASSANDRA_HOSTS"] = ",".join(address(m) for m in cassandra)
        env["BIGDATA_CASSANDRA_PORT"] = str(setting(cassandra[0], CassandraSettings,
                                                    "cassandra_native_transport_port"))
        if ca := tls_ca(cassandra[0]):
            env |= {"BIGDATA_CASSANDRA_TLS": "true", "BIGDATA_TLS_CA_FILE": ca}
    if redis := members("redis"):
        env["BIGDATA_REDIS_HOST"] = address(redis[0])
        env["BIGDATA_REDIS_PORT"] = str(setting(redis[0], RedisSettings, "redis_port"))
        if ca := tls_ca(redis[0]):
            env |= {"BIGDATA_REDIS_TLS": "true", "BIGDATA_TLS_CA_FILE": ca}
    if spark := members("spark_master"):
        env["BIGDATA_SPARK_MASTER"] = "spark://" + ",".join(
            f"{address(m)}:{setting(m, SparkSettings, 'spark_master_port')}" for m in spark)
    return env


def lookup_secret(source: str) -> str | None:
    """A secret's value: the host's data (group_data/all.py reads BIGDATA_X_Y into x_y
    with secret()), else the environment or inventories/secrets.env."""
    return host.data.get(secrets.setting(source)) or secrets.secret(source)


def load(folder: str) -> list[App]:
    """The definitions, validated (a broken one fails here, naming the app and its file)."""
    if Path(folder).resolve() == app_defs.APPS_DIR:
        return app_defs.load()
    return [app_defs.read(path) for path in sorted(Path(folder).glob("*.json"))]


def prepare(settings: Settings, *, inline_secrets: bool) -> list[App]:
    try:
        return app_defs.prepare(load(settings.pipeline_apps_dir), image_tags=settings.pipeline_image_tags,
                                env=site_env(), read_only_files=site_files(), scale=settings.pipeline_scale,
                                app_env=settings.pipeline_env,
                                lookup_secret=lookup_secret if inline_secrets else None)
    except (AppDefinitionError, ValueError, KeyError) as error:
        raise DeployError(f"pipeline apps: {error}") from None
