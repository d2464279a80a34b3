"""Helpers of the services' real-backend tests (tests/services): service processes,
and Kafka, Cassandra and Redis as the tests use them. The fixtures are in conftest.py."""
from __future__ import annotations

import io
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import http_call
from ctl import ROOT, hosts, images
from deploys import tls
from deploys.cassandra import Settings as CassandraSettings
from marathon import apps
from services.core import clients
from shared import names
from shared import secrets as platform_secrets
from services.core.settings import Settings
from services.core.tick import encode

SECRETS = tuple(name for name in platform_secrets.NAMES if name != "BIGDATA_MARATHON_PASSWORD")


def platform_login(module: str, secrets: dict) -> dict[str, str]:
    """What the service's app definition (marathon/apps) gives it to log in with, as the
    platform runs it: its own users (BIGDATA_*_USER) and its secrets, this run's values."""
    (app,) = [app for app in apps.load() if module in app.definition["args"]]
    login = {}
    for key, value in app.definition["env"].items():
        if isinstance(value, dict):  # a secret reference
            login[key] = secrets[app.definition["secrets"][value["secret"]]["source"]]
        elif key.endswith("_USER"):
            login[key] = value
    return login


@dataclass
class Backends:
    container: str
    ip: str
    env: dict  # what a service process needs to reach them
    settings: Settings  # as the admin users

    def service_settings(self, module: str) -> Settings:
        """The settings a service's process has (its own Kafka user)."""
        return Settings.from_env({**self.env, **platform_login(module, self.env)})

    def docker(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.container, *command], capture_output=True, text=True,
                              check=check, timeout=300)


def advertised_kafka(name: str) -> str:
    """The host:port the broker on this host advertises to its clients."""
    properties = subprocess.run(["docker", "exec", name, "cat", "/etc/kafka/server.properties"],
                                capture_output=True, text=True, check=True).stdout
    listeners = next(line for line in properties.splitlines() if line.startswith("advertised.listeners="))
    broker = next(item for item in listeners.split("=", 1)[1].split(",") if item.startswith("BROKER://"))
    return broker.removeprefix("BROKER://")


def reachable(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        socket.getaddrinfo(host, int(port))
        return True
    except OSError:
        return False


def backends_of(name: str, secrets: dict[str, str] | None = None, others: tuple[str, ...] = (),
                ca_dir: Path | None = None) -> Backends:
    """The platform on host container `name` (and the brokers and Cassandra nodes on
    `others`, for a cluster; Redis on `name`), reached with `secrets` and the CA in `ca_dir`
    (default: this run's own). Its settings log in as the admin users (Redis, Kafka) and the
    superuser (Cassandra); a service process started with its env logs in as its own users
    (ServiceProcess)."""
    ip = hosts.ip_address(name)
    ips = [ip, *map(hosts.ip_address, others)]
    ca = (ca_dir or platform_secrets.ca_dir()) / "ca.crt"
    env = {"BIGDATA_KAFKA_BOOTSTRAP": ",".join(f"{each}:9092" for each in ips),
           "BIGDATA_CASSANDRA_HOSTS": ",".join(ips), "BIGDATA_REDIS_HOST": ip,
           "BIGDATA_REDIS_TLS": "true", "BIGDATA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "BIGDATA_CASSANDRA_TLS": "true", "BIGDATA_TLS_CA_FILE": str(ca),
           **{secret: (secrets or os.environ)[secret] for secret in SECRETS}}
    admin = {"BIGDATA_REDIS_USER": names.REDIS_ADMIN_USER, "BIGDATA_KAFKA_USER": names.KAFKA_ADMIN_USER,
             "BIGDATA_KAFKA_PASSWORD": env["BIGDATA_KAFKA_ADMIN_PASSWORD"],
             "BIGDATA_CASSANDRA_USER": CassandraSettings.model_fields["cassandra_superuser"].default}
    return Backends(name, ip, env, Settings.from_env({**env, **admin}))


# --- service processes ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceProcess:
    module: str
    env: dict
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> "ServiceProcess":
        env = {**os.environ, **self.env, "BIGDATA_HTTP_PORT": str(self.port), "BIGDATA_HTTP_HOST": "127.0.0.1",
               "PYTHONUNBUFFERED": "1"}
        env |= platform_login(self.module, env)  # its own users, as the platform runs it
        out = self.log.open("a")
        self.process = subprocess.Popen([sys.executable, "-m", self.module], cwd=ROOT, env=env,
                                        stdout=out, stderr=subprocess.STDOUT)
        out.close()
        return self

    def http(self, method: str = "GET", path: str = "/health", token: str | None = None) -> tuple[int, dict]:
        """A request to the service; a control request (not a GET) carries the producer's token
        (the run's BIGDATA_PRODUCER_TOKEN, unless `token` says another)."""
        token = token or {**os.environ, **self.env}.get("BIGDATA_PRODUCER_TOKEN")
        return http_call.call(self.port, method, path, token if method != "GET" else None)

    def health(self) -> dict:
        try:
            return self.http()[1]
        except (OSError, ValueError):
            return {}

    def metrics(self) -> dict[tuple[str, str | None], float]:
        """GET /metrics, read by Prometheus' own parser: (sample name, its reason or status
        label, if any) -> value."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        return {(sample.name, sample.labels.get("reason") or sample.labels.get("status")): sample.value
                for family in text_string_to_metric_families(text) for sample in family.samples}

    def wait_for(self, predicate, timeout: float = 60, what: str = "condition") -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.module} exited with {self.process.returncode}:\n{self.tail()}"
            health = self.health()
            if health and predicate(health):
                return health
            time.sleep(0.2)
        raise AssertionError(f"{self.module}: {what} not within {timeout}s; health {self.health()}\n{self.tail()}")

    def wait_running(self, timeout: float = 60) -> dict:
        return self.wait_for(lambda h: h.get("status") == "running", timeout, "running")

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def tail(self, count: int = 30) -> str:
        return "\n".join(self.log.read_text().splitlines()[-count:]) if self.log.exists() else ""

    def state(self) -> str:
        return f"{self.module}: health {self.health()}\n{self.tail()}"

    def stop_quietly(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


# --- Kafka, Cassandra and Redis, as the tests use them ------------------------------------

def unique_symbols(count: int = 1) -> list[str]:
    return [f"T{uuid.uuid4().hex[:7].upper()}" for _ in range(count)]


def unique_group(prefix: str) -> str:
    """A consumer group of its own; a service's starts with the service's group name, as its
    Kafka user's ACLs require (e.g. unique_group(names.WRITER_GROUP))."""
    return f"{prefix}-test-{uuid.uuid4().hex[:8]}"


class Kafka:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.producer = clients.kafka_producer(settings, **{"linger.ms": 0})

    def send(self, topic: str, records) -> list[tuple[int, int]]:
        """Send (key, value) pairs, wait until every one is acknowledged, and return
        where each landed: (partition, offset), in the order given."""
        failures, positions = [], [None] * len(records)

        def delivered(index):
            def report(error, message):
                if error is not None:
                    failures.append(error)
                else:
                    positions[index] = (message.partition(), message.offset())
            return report

        for index, (key, value) in enumerate(records):
            self.producer.produce(topic, value=value, key=key, on_delivery=delivered(index))
            self.producer.poll(0)
        assert self.producer.flush(30) == 0 and not failures, failures
        return positions

    def _consumer(self, group: str | None = None):
        return clients.kafka_consumer(self.settings, group or unique_group("reader"))

    def group_members(self, group: str) -> list[list[int]]:
        """The partitions each member of a consumer group holds now (Kafka's own view)."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient(clients.kafka_common(self.settings))
        (description,) = [future.result(timeout=30) for future in
                          admin.describe_consumer_groups([group], request_timeout=30).values()]
        return [sorted(tp.partition for tp in member.assignment.topic_partitions) for member in description.members]

    def end_offsets(self, topic: str) -> dict[int, int]:
        from confluent_kafka import TopicPartition
        consumer = self._consumer()
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        finally:
            consumer.close()

    def start_group_at_end(self, group: str, topic: str) -> dict[int, int]:
        """Commit the topic's current end offsets for a new group: its consumer starts there."""
        from confluent_kafka import TopicPartition
        ends = self.end_offsets(topic)
        consumer = self._consumer(group)
        try:  # retried: a fresh broker answers NOT_COORDINATOR while it loads __consumer_offsets
            wait_until(lambda: consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in ends.items()],
                                               asynchronous=False), 60, f"offsets committed for group {group}")
        finally:
            consumer.close()
        return ends

    def committed(self, group: str, topic: str) -> dict[int, int]:
        from confluent_kafka import TopicPartition
        consumer = self._consumer(group)
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            return {tp.partition: tp.offset for tp in found}
        finally:
            consumer.close()

    def read(self, topic: str, since: dict[int, int], until: dict[int, int] | None = None,
             timeout: float = 30) -> list:
        """Every record from `since` (partition -> offset) up to `until` (default: the end now)."""
        from confluent_kafka import TopicPartition
        until = until or self.end_offsets(topic)
        wanted = {p: o for p, o in until.items() if o > since.get(p, 0)}
        consumer = self._consumer()
        records = []
        try:
            consumer.assign([TopicPartition(topic, p, since.get(p, 0)) for p in wanted])
            deadline = time.monotonic() + timeout
            done = {p: False for p in wanted}
            while not all(done.values()) and time.monotonic() < deadline:
                for message in consumer.consume(1000, timeout=1):
                    if message.error():
                        continue
                    if message.offset() < wanted[message.partition()]:
                        records.append(message)
                    if message.offset() + 1 >= wanted[message.partition()]:
                        done[message.partition()] = True
            assert all(done.values()), f"{topic}: not everything read within {timeout}s"
        finally:
            consumer.close()
        return records

    def read_json(self, topic: str, since: dict[int, int], **kwargs) -> list[dict]:
        return [json.loads(m.value()) for m in self.read(topic, since, **kwargs)]

    def close(self) -> None:
        self.producer.flush(10)


def days_around_now() -> list:
    today = datetime.now(timezone.utc).date()
    return [today - timedelta(days=1), today, today + timedelta(days=1)]


def stored_ticks(cassandra, symbols, days=None) -> list:
    """Every row of these symbols (on the days around now)."""
    rows = []
    query = cassandra.prepare(f"SELECT symbol, day, trade_time, tick_id, price, currency, volume, source "
                              f"FROM {names.KEYSPACE}.{names.TICKS_TABLE} WHERE symbol = ? AND day = ?")
    for symbol in symbols:
        for day in days or days_around_now():
            rows.extend(cassandra.execute(query, (symbol, day)))
    return rows


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5, explain=None):
    """Poll until the predicate holds; while a backend is coming back it may raise.
    On failure, explain() (the state of whoever should have made it hold) is told too."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:
            last_error = error
        if time.monotonic() > deadline:
            state = f"\n{explain()}" if explain else ""
            raise AssertionError(f"{what}: not within {timeout}s (last error: {last_error!r}){state}")
        time.sleep(interval)


# --- the stream processor on the Spark host ------------------------------------------------------

APP_DIR = "/opt/bigdata/apps/stream-processor-test"
SPARK_HOME = "/opt/bigdata/spark"
CHECKPOINTS = "/var/lib/bigdata/spark/checkpoints"
SERVICE_USER = "bigdata"

# What the job imports beyond the standard library and pyspark (services/core/settings.py,
# services/core/metrics.py); a Spark host's python3 has none of it, so it is shipped beside
# the code, as wheels unpacked
JOB_DEPENDENCIES = ("pydantic-settings", "prometheus-client")


def _job_wheels() -> list[Path]:
    """The services' wheels (the images' own, for the hosts' Python 3.11) of JOB_DEPENDENCIES
    and everything they require."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    wanted, todo = set(), list(JOB_DEPENDENCIES)
    while todo:
        name = canonicalize_name(todo.pop())
        if name not in wanted:
            wanted.add(name)
            todo += [Requirement(r).name for r in metadata.requires(name) or [] if "extra ==" not in r]
    return [w for w in images.service_wheels() if canonicalize_name(w.name.split("-")[0]) in wanted]


def install(container: str) -> None:
    """The job's code (services/, shared/) and its dependencies into the Spark host, as an
    operator would ship it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for item in ("services/__init__.py", "services/core", "services/stream_processor", "shared"):
            archive.add(ROOT / item, arcname=item, filter=lambda t: None if "__pycache__" in t.name else t)
        for wheel in _job_wheels():
            with zipfile.ZipFile(wheel) as unpacked:
                for member in unpacked.infolist():
                    if not member.is_dir():
                        info = tarfile.TarInfo(member.filename)
                        info.size = member.file_size
                        archive.addfile(info, io.BytesIO(unpacked.read(member)))
    subprocess.run(["docker", "exec", "-i", container, "sh", "-c",
                    f"rm -rf {APP_DIR} && mkdir -p {APP_DIR} && tar -C {APP_DIR} -x && chmod -R a+rX {APP_DIR}"],
                   input=buffer.getvalue(), check=True, timeout=60)


@dataclass
class SparkJob:
    """`python -m services.stream_processor` on the Spark host, as the service user; its
    output (JSON lines, and the driver JVM's) in a local file."""
    container: str
    ip: str
    env: dict
    log: Path
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> "SparkJob":
        pidfile = f"/run/stream-processor-test-{self.port}.pid"
        env_args = [arg for key, value in {**self.env, "BIGDATA_HTTP_PORT": str(self.port)}.items()
                    for arg in ("-e", f"{key}={value}")]
        # its own process group (setsid), so that kill -9 takes the driver and its JVM at once
        command = (f"echo $$ > {pidfile}; exec setpriv --reuid={SERVICE_USER} --regid={SERVICE_USER} "
                   f"--init-groups python3 -m services.stream_processor")
        out = self.log.open("a")
        self.process = subprocess.Popen(["docker", "exec", "-w", APP_DIR, *env_args, self.container,
                                         "setsid", "--wait", "sh", "-c", command], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.pidfile = pidfile
        return self

    def pid(self) -> str:
        return subprocess.run(["docker", "exec", self.container, "cat", self.pidfile], capture_output=True,
                              text=True, check=True).stdout.strip()

    def health(self) -> dict:
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{self.port}/health", timeout=5) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read() or b"{}")
        except (OSError, ValueError):
            return {}

    def wait_for(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the job exited with {self.process.returncode}:\n{self.tail()}"
            health = self.health()
            if health and predicate(health):
                return health
            time.sleep(0.3)
        raise AssertionError(f"job: {what} not within {timeout}s; health {self.health()}\n{self.tail()}")

    def wait_ready(self, timeout: float = 150) -> dict:
        """Running, and its first micro-batch done (the source's offsets are fixed then)."""
        return self.wait_for(lambda h: h.get("status") == "running" and h.get("last_batch"), timeout,
                             "running with a first batch")

    def kill9(self) -> None:
        """kill -9 of the driver and its JVM (the whole process group)."""
        subprocess.run(["docker", "exec", self.container, "kill", "-9", "--", f"-{self.pid()}"], check=True)
        self.process.wait(30)

    def signal(self, name: str) -> None:
        """A signal (STOP, CONT, ...) to the driver and its JVM."""
        subprocess.run(["docker", "exec", self.container, "kill", f"-{name}", "--", f"-{self.pid()}"], check=True)

    def terminate(self, timeout: float = 90) -> int:
        subprocess.run(["docker", "exec", self.container, "kill", "-TERM", self.pid()], check=True)
        return self.process.wait(timeout)

    def lines(self) -> list[dict]:
        found = []
        for line in self.log.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                found.append({"raw": line})
        return found

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.log.read_text().splitlines()[-count:]) if self.log.exists() else ""

    def stop_quietly(self) -> None:
        if self.process and self.process.poll() is None:
            subprocess.run(["docker", "exec", self.container, "kill", "-9", "--", f"-{self.pid()}"])
            self.process.wait(30)


def stream_job(backends: Backends, checkpoint: str, log: Path, port: int, **env) -> SparkJob:
    """The job (not started yet) on the platform's Spark host, with its checkpoint under CHECKPOINTS."""
    settings = {
        "BIGDATA_KAFKA_BOOTSTRAP": backends.env["BIGDATA_KAFKA_BOOTSTRAP"],
        **platform_login("services.stream_processor", backends.env),
        "BIGDATA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BIGDATA_TLS_CA_FILE": f"{tls.Settings().tls_dir}/{tls.CA_FILE}",  # the host's copy of the CA
        "BIGDATA_SPARK_HOME": SPARK_HOME,
        "BIGDATA_SPARK_MASTER": f"spark://{backends.container}:7077",
        "BIGDATA_STREAM_CHECKPOINT": f"{CHECKPOINTS}/{checkpoint}",
        "HOME": f"/var/lib/{SERVICE_USER}", "PYTHONUNBUFFERED": "1",
        **{k: str(v) for k, v in env.items()}}
    return SparkJob(backends.container, backends.ip, settings, log, port=port)


# --- the stream processor's windows: an independent calculation ------------------------------------

WINDOWS = {"1s": 1000, "1m": 60_000}
REL = 1e-9  # sums of doubles in another order


@dataclass
class Sent:
    symbol: str
    trade_time: int
    price: float
    volume: int
    position: tuple  # (partition, offset): a symbol's ticks share a partition, so offsets order them


def expected_windows(ticks: list[Sent]) -> dict[tuple, dict]:
    """(symbol, window label, window_start) -> the analytics record's numbers."""
    groups: dict[tuple, list[Sent]] = {}
    for tick in ticks:
        for label, size in WINDOWS.items():
            groups.setdefault((tick.symbol, label, tick.trade_time // size * size), []).append(tick)
    return {key: figures(key, members) for key, members in groups.items()}


def figures(key, members: list[Sent]) -> dict:
    symbol, label, start = key
    ordered = sorted(members, key=lambda t: (t.trade_time, t.position[1]))
    prices = [t.price for t in ordered]
    volume = sum(t.volume for t in ordered)
    average = sum(prices) / len(prices)
    return {"symbol": symbol, "window": label, "window_start": start, "window_end": start + WINDOWS[label],
            "open": ordered[0].price, "high": max(prices), "low": min(prices), "close": ordered[-1].price,
            "average": average, "vwap": sum(t.price * t.volume for t in ordered) / volume if volume else average,
            "volume": volume, "count": len(ordered), "last_trade_time": max(t.trade_time for t in ordered)}


def same(record: dict, wanted: dict) -> list[str]:
    """The fields where an analytics record differs from the calculation."""
    wrong = []
    for name, value in wanted.items():
        got = record.get(name)
        if isinstance(value, float):
            if not isinstance(got, (int, float)) or not math.isclose(got, value, rel_tol=REL):
                wrong.append(f"{name}: {got} != {value}")
        elif got != value:
            wrong.append(f"{name}: {got!r} != {value!r}")
    return wrong


def analytics_of(kafka, since: dict, symbols) -> list[dict]:
    return [r for r in kafka.read_json(names.ANALYTICS_TOPIC, since, timeout=60) if r.get("symbol") in symbols]


def latest(records: list[dict]) -> dict[tuple, dict]:
    """The newest record per window (update mode: the one with the most ticks)."""
    newest: dict[tuple, dict] = {}
    for record in records:
        key = (record["symbol"], record["window"], record["window_start"])
        if key not in newest or record["count"] >= newest[key]["count"]:
            newest[key] = record
    return newest


def wait_for_windows(kafka, since, wanted: dict[tuple, dict], timeout: float) -> list[dict]:
    """Every window's newest record says what the calculation says (it gets there in updates)."""
    symbols = {key[0] for key in wanted}
    state = {"records": [], "wrong": {}}

    def settled():
        state["records"] = analytics_of(kafka, since, symbols)
        newest = latest(state["records"])
        state["wrong"] = {key: same(newest[key], value) if key in newest else ["missing"]
                          for key, value in wanted.items()}
        state["wrong"] = {k: v for k, v in state["wrong"].items() if v}
        return not state["wrong"] and set(newest) == set(wanted)

    try:
        wait_until(settled, timeout, "analytics of every window", interval=1)
    except AssertionError:
        raise AssertionError(f"windows still wrong or missing: {dict(list(state['wrong'].items())[:8])}") from None
    return state["records"]


def tick_value(symbol: str, tick_id: str, price: float, trade_time: int, volume: int, currency: str = "USD",
               source: str = "synthetic") -> bytes:
    """A tick as the producer writes it (tick.encode(): the stream processor's fast path)."""
    return encode(tick_id, symbol, price, currency, trade_time, volume, source).encode()


def send_known_ticks(kafka, symbol: str, label: str, price: float, seed: int, count: int = 40):
    """`count` ticks of `symbol` around `price` over the last two seconds of trade time
    (ids synthetic-<label><run>-<n>), sent and acknowledged. Returns the planned
    (tick_id, trade_time, price, volume) and, in the same order, what was Sent."""
    rng, now, run = random.Random(seed), int(time.time() * 1000), uuid.uuid4().hex[:8]
    planned = [(f"synthetic-{label}{run}-{n}", now - 2000 + n * 50, round(price + rng.uniform(-1, 1), 2),
                rng.choice([0, 100, 250])) for n in range(count)]
    positions = kafka.send(names.TICKS_TOPIC, [(symbol.encode(), tick_value(symbol, tick_id, p, trade_time, volume))
                                               for tick_id, trade_time, p, volume in planned])
    return planned, [Sent(symbol, trade_time, p, volume, where)
                     for (_, trade_time, p, volume), where in zip(planned, positions)]


def wait_stored_once(cassandra, symbol: str, planned, timeout: float) -> None:
    """Every planned tick in Cassandra, once, as sent (the storage writer's work)."""
    rows = wait_until(lambda: (found := stored_ticks(cassandra, [symbol])) and len(found) >= len(planned) and found,
                      timeout, "the known ticks in Cassandra")
    assert sorted((r.tick_id, int(r.trade_time.timestamp() * 1000), r.price, r.volume) for r in rows) == \
        sorted(planned)


def kafka_of(backends):
    """A fixture's Kafka client of a platform, closed at the end."""
    client = Kafka(backends.settings)
    yield client
    client.close()


def cassandra_of(backends, timeout: float = 180):
    """A fixture's Cassandra session of a platform (waited for), shut down at the end."""
    session = wait_until(lambda: clients.cassandra_session(backends.settings), timeout, "a Cassandra session")
    yield session
    session.cluster.shutdown()
