"""What every bench shares: the running one-node platform (container `bigdata`,
secrets from inventories/secrets.env), the heavy-work lock, the machine's load,
Kafka's own tools from the mirror's distribution, and a throwaway bench topic.

The service processes and Kafka helpers are the services' tests' own
(tests/services/servicekit.py): a bench starts the services exactly as they do.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

from ctl import CACHE, ROOT, mirror
from deploys.kafka.users import USERS, KafkaUser
from marathon import swarm
from services.core import clients
from shared import secrets
from shared import names

sys.path[:0] = [str(ROOT / "tests" / "services"), str(ROOT / "tests")]  # servicekit, and what it imports
import servicekit  # noqa: E402  (the services' tests' process and Kafka helpers)
from servicekit import Backends, Kafka, ServiceProcess, wait_until  # noqa: E402,F401

HEAVY_LOCK = Path("/tmp/bigdata-heavy.lock")  # every heavy run on this machine takes turns
TOOLS = CACHE / "bench"
DEFAULT_CONTAINER = "bigdata"
RUNS = ROOT / ".run" / "bench"


@contextlib.contextmanager
def heavy_lock():
    """flock(1)'s lock: the bench waits for other heavy runs (test suites, other benches)."""
    with HEAVY_LOCK.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {HEAVY_LOCK} (another heavy run)...", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def paused_apps(backends: Backends, *apps: str, stack: str = "bigdata"):
    """The platform's own replicas of these pipeline apps (Swarm services <stack>_<app>)
    scaled to 0 for the duration, and back to their counts after: what a bench measures
    then does not share the node with copies of itself doing the same work. Scaled back
    without waiting for them to be healthy (the stream processor's first batch can take a minute)."""
    listed = backends.docker("docker", "service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
                             "--format", swarm.SERVICE_LS_FORMAT).stdout
    counts = {}
    for line in listed.splitlines():
        name, replicas = line.split(" ", 1)
        _, desired = swarm.parse_replicas(replicas)
        if name.removeprefix(f"{stack}_") in apps and desired:
            counts[name] = desired
    if counts:
        print(f"pausing the platform's {', '.join(counts)} for the run", flush=True)
        backends.docker("docker", "service", "scale", "--detach", *[f"{name}=0" for name in counts])
    try:
        yield list(counts)
    finally:
        if counts:
            backends.docker("docker", "service", "scale", "--detach",
                            *[f"{name}={count}" for name, count in counts.items()])


def load() -> str:
    """The 1, 5 and 15 minute load averages (2 cores): other work shares the machine."""
    return "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def backends(container: str = DEFAULT_CONTAINER) -> Backends:
    """The platform's Kafka, Cassandra and Redis, with the operator's secrets."""
    for name in secrets.NAMES:
        value = secrets.secret(name)
        if value:
            os.environ.setdefault(name, value)
    missing = [name for name in servicekit.SECRETS if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"missing secrets {missing}: set them or write inventories/secrets.env")
    return servicekit.backends_of(container)


def arguments(parser) -> tuple:
    """A bench's command line, plus --container (the one-node platform to measure): (args, backends)."""
    parser.add_argument("--container", default=DEFAULT_CONTAINER, help="the platform's node (default: %(default)s)")
    args = parser.parse_args()
    return args, backends(args.container)


def run_dir(bench: str) -> Path:
    """Where a bench keeps its service logs and tool output (untracked)."""
    path = RUNS / f"{bench}-{time.strftime('%Y%m%d-%H%M%S')}"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- Kafka's own tools ------------------------------------------------------------------

def kafka_home() -> Path:
    """The Kafka distribution the platform runs (the mirror's: libs/ and config/, no
    bin/ scripts), unpacked once into the cache."""
    tarball = mirror.artifact_path("kafka")
    if not tarball.exists():
        mirror.build_mirror(["kafka"])
    home = TOOLS / tarball.name.removesuffix(".tgz")
    if not (home / "libs").is_dir():
        TOOLS.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as archive:
            archive.extractall(TOOLS, filter="tar")
    return home


def java_client_properties(backends: Backends, path: Path, user: KafkaUser) -> Path:
    """A Java client's settings as a service's own clients use them: SASL/SCRAM as its user,
    over TLS when the platform's Kafka has it."""
    settings = backends.settings
    password = os.environ[user.secret]
    path.write_text(
        f"security.protocol={settings.kafka_security_protocol}\n"
        f"sasl.mechanism={settings.kafka_sasl_mechanism}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user.name}" password="{password}";\n'
        + (f"ssl.truststore.type=PEM\nssl.truststore.location={settings.tls_ca_file}\n"
           if settings.kafka_tls() else ""))
    path.chmod(0o600)
    return path


def kafka_tool(main_class: str, *args: str, log: Path) -> str:
    """Run one of Kafka's tools (what bin/kafka-*.sh would run) on this machine's Java;
    its output, also kept in `log`."""
    home = kafka_home()
    command = ["java", "-Xmx512m", f"-Dlog4j2.configurationFile={home / 'config' / 'tools-log4j2.yaml'}",
               "-cp", f"{home / 'libs'}/*", main_class, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    log.write_text(result.stdout + result.stderr)
    if result.returncode:
        raise SystemExit(f"{main_class} failed ({result.returncode}); see {log}\n{result.stderr[-2000:]}")
    return result.stdout


# --- a throwaway topic ---------------------------------------------------------------------

def _admin(backends: Backends):
    from confluent_kafka.admin import AdminClient
    settings = backends.settings
    return AdminClient({**clients.kafka_common(settings), "sasl.username": names.KAFKA_ADMIN_USER,
                        "sasl.password": os.environ["BIGDATA_KAFKA_ADMIN_PASSWORD"]})


def _acls(topic: str, like: str, kind=None):
    """Each service user's ACLs on topic `like`, for `topic` (deploys/kafka/users.py)."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    return [(kind or AclBinding)(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*",
                                 getattr(AclOperation, operation), AclPermissionType.ALLOW)
            for user in USERS for principal, resource, name, _, operation in sorted(user.acls())
            if resource == "TOPIC" and name == like]


@contextlib.contextmanager
def bench_topic(backends: Backends, like: str = names.TICKS_TOPIC):
    """A topic made like `like` (partitions, replicas, its own configs such as
    min.insync.replicas), which each service's user may use as it uses `like`;
    deleted with its ACLs afterwards, so benches leave the pipeline's topics alone."""
    from confluent_kafka.admin import AclBindingFilter, ConfigResource, ConfigSource, NewTopic, ResourceType
    admin = _admin(backends)
    model = admin.list_topics(like, timeout=10).topics[like]
    resource = ConfigResource(ResourceType.TOPIC, like)
    described = admin.describe_configs([resource])[resource].result(timeout=10)
    configs = {key: entry.value for key, entry in described.items()
               if entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    partitions = len(model.partitions)
    replicas = len(model.partitions[0].replicas)
    admin.create_topics([NewTopic(topic, partitions, replicas, config=configs)])[topic].result(timeout=30)
    try:
        for future in admin.create_acls(_acls(topic, like)).values():
            future.result(timeout=30)
        wait_until(lambda: topic in admin.list_topics(timeout=5).topics, 30, f"topic {topic}")
        print(f"bench topic {topic}: like {like} ({partitions} partitions, {replicas} replica(s), {configs})",
              flush=True)
        yield topic
    finally:
        for future in admin.delete_acls(_acls(topic, like, AclBindingFilter)).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)
        admin.delete_topics([topic])[topic].result(timeout=30)


def mb(bytes_per_s: float) -> float:
    return bytes_per_s / 2**20


def ratio_line(what: str, ours: float, reference: float, unit: str, names=("ours", "reference")) -> str:
    return (f"  {what:<22} {names[0]} {ours:>12,.1f} {unit}   {names[1]} {reference:>12,.1f} {unit}   "
            f"ratio {ours / reference:5.2f}")


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    return [float(n) for n in _NUMBER.findall(text)]
