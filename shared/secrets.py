"""Secrets come from the environment or from the untracked inventories/secrets.env
(KEY=value lines), never from the repository. Group data reads them with `secret()`:

    redis_password = secret("BIGDATA_REDIS_PASSWORD")
"""
import os
from pathlib import Path

# Every secret the platform reads; tests generate a value for each.
NAMES = (
    "BIGDATA_REDIS_PASSWORD",  # Redis's admin user (operators, the deploy's checks)
    "BIGDATA_REDIS_PUBLISHER_PASSWORD",
    "BIGDATA_REDIS_LIVE_LANE_PASSWORD",
    "BIGDATA_REDIS_DASHBOARD_PASSWORD",
    "BIGDATA_KAFKA_ADMIN_PASSWORD",
    "BIGDATA_KAFKA_PRODUCER_PASSWORD",  # each service its own Kafka user (deploys/kafka/users.py)
    "BIGDATA_KAFKA_WRITER_PASSWORD",
    "BIGDATA_KAFKA_STREAM_PASSWORD",
    "BIGDATA_KAFKA_PUBLISHER_PASSWORD",
    "BIGDATA_KAFKA_LIVE_LANE_PASSWORD",
    "BIGDATA_CASSANDRA_PASSWORD",  # Cassandra's superuser (operators, the deploy)
    "BIGDATA_CASSANDRA_WRITER_PASSWORD",  # each service's login role (deploys/cassandra/roles.py)
    "BIGDATA_CASSANDRA_DASHBOARD_PASSWORD",
    "BIGDATA_SPARK_AUTH_SECRET",
    "BIGDATA_ZOOKEEPER_ADMIN_PASSWORD",  # ZooKeeper's super user (the deploy, operators)
    "BIGDATA_ZOOKEEPER_MESOS_PASSWORD",  # the ZooKeeper users of Mesos and Marathon (deploys/zookeeper/acls.py)
    "BIGDATA_ZOOKEEPER_MARATHON_PASSWORD",  # the Spark cluster's shared secret (daemons, drivers)
    "BIGDATA_MARATHON_PASSWORD",
    "BIGDATA_MESOS_MARATHON_SECRET",  # Mesos' framework and agent authentication (deploys/mesos)
    "BIGDATA_MESOS_AGENT_SECRET",
    "BIGDATA_PRODUCER_TOKEN",  # the producer's control requests (POST/DELETE /<symbol>)
)
DEFAULT_SECRETS_FILE = Path(__file__).resolve().parent.parent / "inventories" / "secrets.env"


def secrets_file() -> Path:
    """inventories/secrets.env, unless BIGDATA_SECRETS_FILE names another (tests point it nowhere)."""
    return Path(os.environ.get("BIGDATA_SECRETS_FILE") or DEFAULT_SECRETS_FILE)


def file_values(path: Path | None = None) -> dict[str, str]:
    """The NAME=value lines of a secrets file (by default the one secret() reads)."""
    path = path or secrets_file()
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def variable(setting: str) -> str:
    """The secret that an inventory setting reads: kafka_writer_password -> BIGDATA_KAFKA_WRITER_PASSWORD."""
    return "BIGDATA_" + setting.upper()


def setting(variable_name: str) -> str:
    """The inventory setting a secret fills: BIGDATA_KAFKA_WRITER_PASSWORD -> kafka_writer_password."""
    return variable_name.removeprefix("BIGDATA_").lower()


def secret(name: str) -> str | None:
    """The secret's value, or None (the inventory check then names the missing key)."""
    if name not in NAMES:
        raise KeyError(f"unknown secret {name!r}; known: {', '.join(NAMES)}")
    return os.environ.get(name) or file_values().get(name)


def generate() -> dict[str, str]:
    """Fresh random values for every secret (tests make their own this way)."""
    import secrets as random_source
    return {name: random_source.token_urlsafe(24) for name in NAMES}


# The platform's certificate authority (deploys/tls): a directory holding ca.crt and ca.key,
# untracked like the secrets file. `./bigdata up` generates one there; the test rig makes
# its own per run; a real cluster names its own with BIGDATA_CA_DIR (or sets tls_ca_cert
# and tls_ca_key in its inventory).
CA_DIR_ENV = "BIGDATA_CA_DIR"
DEFAULT_CA_DIR = DEFAULT_SECRETS_FILE.parent / "ca"


def ca_dir() -> Path:
    """inventories/ca/, unless BIGDATA_CA_DIR names another."""
    return Path(os.environ.get(CA_DIR_ENV) or DEFAULT_CA_DIR)


def ca_file(name: str) -> str:
    """The path of one of the CA's files, "ca.crt" or "ca.key" (the inventory check refuses
    a file that is missing or unreadable, naming the setting)."""
    return str(ca_dir() / name)
