"""`./bigdata up` exactly as a newcomer runs it: in a clean clone of the code under
test, with no secret anywhere (no inventories/secrets.env, no BIGDATA_* secret in the
environment) and no .venv. `--help` answers before any environment is made; `up`
generates the secrets, brings up a node of its own, deploys the platform, builds and
ships the service images, runs every app of marathon/apps and prints the dashboard's
URL. Then known ticks go in and come out in Cassandra and in the analytics (against
servicekit's independent calculation), headless Chromium opens the printed URL and sees
prices move, `status` says every component and app is healthy, a second `up` changes
nothing, new values for every app secret are an `up` the feed survives, `scale` runs three storage writers on the node's swarm, a paused Spark worker is named by `status` (exit 1) while systemd still calls
it active, and `./bigdata down` leaves no container, network or volume behind.

The node is named with its own prefix and publishes the dashboard on a free port, so
that a platform the user has running on this machine is never touched.
"""
from __future__ import annotations

import os
import re
import select
import signal
import stat
import subprocess
import threading
import time

import pytest
import socketio

import browser
from clone import clean_clone
from ctl.console import Exit
from ctl.hosts import OWNER_LABEL, PREFIX_ENV
from ctl.local import DASHBOARD_PORT_ENV
from deploys.kafka import ADMIN_CONFIG, TOOL
from shared import secrets
from marathon import apps
from marathon.apps import SERVICES
from servicekit import (Kafka, backends_of, expected_windows, free_port, send_known_ticks, unique_symbols,
                        wait_for_windows, wait_stored_once, wait_until)
from services.core import clients
from shared.names import ANALYTICS_TOPIC, WRITER_GROUP
from services.core.settings import DEFAULT_SYMBOLS

pytestmark = [pytest.mark.cluster,  # needs the Docker engine
              pytest.mark.own_platform]  # `up`'s node: the rig's hosts are removed before (tests/conftest.py)

PREFIX = "e2e-"
NODE = f"{PREFIX}bigdata"
OWNER = f"{PREFIX}up"  # ctl/local.py's owner label under this prefix
PORT = free_port()
COMPONENTS = ("zookeeper", "kafka", "cassandra", "redis", "spark")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return clean_clone(tmp_path_factory.mktemp("newcomer") / "bigdata")


def newcomer_env() -> dict[str, str]:
    """This process's environment less every secret, the tests' secrets file and their CA
    (`up` makes the clone's own, as a newcomer's)."""
    env = {k: v for k, v in os.environ.items()
           if k not in secrets.NAMES and k not in ("BIGDATA_SECRETS_FILE", secrets.CA_DIR_ENV)}
    return {**env, PREFIX_ENV: PREFIX, DASHBOARD_PORT_ENV: str(PORT)}


def bigdata(clone, *args: str, timeout: float = 2400) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run([str(clone / "bigdata"), *args], cwd=clone, env=newcomer_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    done.seconds = time.monotonic() - started
    return done


def made_by_up() -> dict[str, list[str]]:
    """Containers, networks and volumes carrying this run's owner label or prefix."""
    found = {}
    for kind in ("container", "network", "volume"):
        listing = ["docker", kind, "ls", "--all", "--format", "{{.Names}}"] if kind == "container" else \
            ["docker", kind, "ls", "--format", "{{.Name}}"]
        labelled = subprocess.run([*listing, "--filter", f"label={OWNER_LABEL}={OWNER}"], capture_output=True,
                                  text=True, check=True).stdout.split()
        named = [name for name in subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()
                 if name.startswith(PREFIX)]
        found[kind] = sorted(set(labelled) | set(named))
    return found


@pytest.fixture(scope="module")
def first_words(clone):
    """What a newcomer types before `up`, in the fresh clone: --help, a typo, status."""
    words = {"help": bigdata(clone, "--help", timeout=30), "typo": bigdata(clone, "stauts", timeout=30),
             "venv_after_help": (clone / ".venv").exists()}
    return words


@pytest.fixture(scope="module")
def up(clone, first_words, host_image, progress):
    """`./bigdata up` on a fresh node (a killed earlier run's leftovers removed first)."""
    assert not (clone / "inventories" / "secrets.env").exists()
    subprocess.run(["docker", "rm", "--force", "--volumes", NODE], capture_output=True)
    progress(f"./bigdata up in a clean clone, no secrets (node {NODE}, dashboard on port {PORT})")
    try:
        done = bigdata(clone, "up")
        assert done.returncode == 0, done.stdout[-6000:]
        progress(f"./bigdata up took {done.seconds:.0f}s")
        yield done
    finally:
        bigdata(clone, "down")


def test_help_answers_before_any_environment_is_made(first_words):
    help_text = first_words["help"]
    assert help_text.returncode == 0 and "exit codes:" in help_text.stdout, help_text.stdout
    assert help_text.seconds < 10 and not first_words["venv_after_help"]
    typo = first_words["typo"]
    assert typo.returncode == Exit.USAGE and "invalid choice: 'stauts'" in typo.stdout, typo.stdout
    assert "Traceback" not in help_text.stdout + typo.stdout


def test_up_generates_the_secrets_it_needs(clone, up):
    assert "generated BIGDATA_REDIS_PASSWORD" in up.stdout, up.stdout[:3000]
    secrets_file = clone / "inventories" / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert {line.split("=")[0] for line in secrets_file.read_text().splitlines()} == set(secrets.NAMES)
    assert "generated the platform's CA" in up.stdout, up.stdout[:3000]
    assert stat.S_IMODE((clone_ca(clone) / "ca.key").stat().st_mode) == 0o600
    assert "Traceback" not in up.stdout


def clone_ca(clone):
    """The CA `up` generated in the clone (inventories/ca, untracked)."""
    return clone / "inventories" / "ca"


def test_up_shows_progress_and_prints_the_dashboard_url(up):
    # not a terminal: plain lines, one per component as the deploy reaches it, with n of total
    for component in ("Common base", "ZooKeeper", "Kafka", "Cassandra", "Redis", "Spark"):
        assert re.search(rf"^\s+\S+ \[\d+/\d+\] {component}$", up.stdout, re.M), (component, up.stdout[-6000:])
    assert f"the dashboard: http://localhost:{PORT}/" in up.stdout, up.stdout[-3000:]
    published = subprocess.run(["docker", "port", NODE, "8050/tcp"], capture_output=True, text=True).stdout.split()
    assert published == [f"127.0.0.1:{PORT}"], "on loopback only unless BIGDATA_DASHBOARD_ADDRESS says otherwise"


@pytest.fixture(scope="module")
def backends(clone, up):
    """The node's backends, reached with the secrets and the CA `up` generated in the clone."""
    return backends_of(NODE, secrets.file_values(clone / "inventories" / "secrets.env"), ca_dir=clone_ca(clone))


def test_status_asks_every_component_and_app(clone, up, progress):
    # right after `up` the Spark job's first micro-batches work off the feed's backlog: while
    # one runs past BIGDATA_STREAM_STALL_S its /health says so, and so does status (exit 1)
    started, seen = time.monotonic(), []
    status = wait_until(lambda: seen.append(done := bigdata(clone, "status", timeout=120)) or
                        (done.returncode == Exit.OK and done), 300, "status healthy after up",
                        explain=lambda: seen[-1].stdout if seen else "")
    progress(f"status healthy {time.monotonic() - started:.0f}s after up ({len(seen)} asked)")
    for name in (*COMPONENTS, *SERVICES):
        assert re.search(rf"^\s+{name}\s+ok\s+\S", status.stdout, re.M), status.stdout
    assert re.search(r"^\s+zookeeper\s+ok\s+Mode: standalone$", status.stdout, re.M), status.stdout
    assert re.search(r"^\s+storage-writer\s+ok\s+.*consumer lag \d+$", status.stdout, re.M), status.stdout


def test_logs_follow_as_journalctl_does(clone, up):
    """The producer logs its progress every 10 s: -f shows the last line, then the next ones as they come."""
    follow = subprocess.Popen([str(clone / "bigdata"), "logs", "-f", "-n", "1", "producer"], cwd=clone,
                              env=newcomer_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while len(lines) < 3 and time.monotonic() < deadline:
            if select.select([follow.stdout], [], [], 1)[0]:
                line = follow.stdout.readline()
                if not line:
                    break
                lines.append(line)
        assert follow.poll() is None, "logs -f should keep following"
    finally:
        follow.terminate()
        follow.wait(10)
    assert len(lines) == 3 and all('"service": "producer"' in line for line in lines), lines


def known_ticks_end_to_end(backends, label: str, price: float, seed: int) -> None:
    """Known ticks of a new symbol: each stored once by the storage writer's container, and
    every window as calculated here from the stream processor's container (the Spark job;
    within minutes even when this machine also runs the three-node rig's heaviest tests)."""
    kafka = Kafka(backends.settings)
    cassandra = wait_until(lambda: clients.cassandra_session(backends.settings), 120, "a Cassandra session")
    try:
        (symbol,) = unique_symbols(1)
        since = kafka.end_offsets(ANALYTICS_TOPIC)
        planned, sent = send_known_ticks(kafka, symbol, label, price, seed=seed)
        wait_stored_once(cassandra, symbol, planned, 90)
        wait_for_windows(kafka, since, expected_windows(sent), timeout=600)
    finally:
        cassandra.cluster.shutdown()
        kafka.close()


def test_known_ticks_reach_cassandra_and_the_analytics_from_the_containers(backends):
    known_ticks_end_to_end(backends, "up", 50, seed=11)


def test_backup_and_restore_are_a_command_each(clone, up, progress):
    """`./bigdata backup` keeps the keyspace's snapshot and schema in the checkout's backups/,
    printing the name; `./bigdata restore <name>` loads it back into the running platform; a
    name that is no backup is refused in one line, naming the ones there are. (Rows coming
    back after a wipe: tests/cluster/test_cassandra.py.)"""
    unknown = bigdata(clone, "restore", "19990101T000000Z", timeout=300)
    assert unknown.returncode == 2 and "no backup '19990101T000000Z'" in unknown.stdout, unknown.stdout[-2000:]
    assert "Traceback" not in unknown.stdout
    made = bigdata(clone, "backup", timeout=600)
    assert made.returncode == 0, made.stdout[-4000:]
    name = re.search(r"backup (\d{8}T\d{6}Z): ", made.stdout)[1]
    assert (clone / "backups" / name / "node-1.tar.gz").stat().st_size > 0
    assert "CREATE TABLE stocks.ticks" in (clone / "backups" / name / "schema.cql").read_text()
    restored = bigdata(clone, "restore", name, timeout=600)
    assert restored.returncode == 0, restored.stdout[-4000:]
    progress(f"./bigdata backup took {made.seconds:.0f}s, restore {restored.seconds:.0f}s")


def test_headless_chromium_sees_prices_move_at_the_printed_url(up):
    browser.install()
    symbol = DEFAULT_SYMBOLS[0]  # on the dashboard by default, and in the synthetic feed
    with browser.open(f"http://localhost:{PORT}/") as page:
        assert browser.wait_chart(page, symbol) >= 1
        first, later = browser.wait_prices_move(page, symbol, timeout_s=90)
        # (each within its sanity bound; Spark's micro-batches on a loaded machine take tens of seconds)
        latencies = browser.wait_latency_updates(page, count=3, timeout_s=180)
        assert not browser.foreign_requests(page), browser.foreign_requests(page)
    print(f"{symbol} moved {first} -> {later}; tick-to-browser latency shown: {latencies} ms")


def test_up_again_changes_nothing(clone, up, progress):
    again = bigdata(clone, "up")
    assert again.returncode == 0, again.stdout[-4000:]
    for deploy in ("deploys/site.py", "deploys/apps.py"):
        assert f"{deploy}: 0 operation(s) changed something" in again.stdout, again.stdout[-4000:]
    progress(f"./bigdata up again took {again.seconds:.0f}s")


# every secret an app holds (Spark's shared secret too: the master and the worker restart onto it)
APP_SECRETS = sorted({source for app in apps.load() for source in apps.secret_sources(app).values()})


class PriceWatch(threading.Thread):
    """A browser's view of the feed: a Socket.IO client of the dashboard subscribed to one
    symbol, noting when each live price arrives, connecting again whenever it is dropped."""

    def __init__(self, url: str, symbol: str):
        super().__init__(daemon=True)
        self.url, self.symbol, self.arrivals, self.done = url, symbol, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            sio = socketio.Client(reconnection=False)
            sio.on("live", lambda data: data.get("symbol") == self.symbol and self.arrivals.append(time.monotonic()))
            try:
                sio.connect(self.url, transports=["websocket"], wait_timeout=10)
                sio.call("subscribe", {"symbol": self.symbol}, timeout=10)
                while sio.connected and not self.done.is_set():
                    self.done.wait(0.5)
            except (socketio.exceptions.SocketIOError, OSError):
                self.done.wait(1)
            finally:
                sio.disconnect()

    def longest_gap(self, since: float) -> float:
        times = [since, *(t for t in self.arrivals if t > since)]
        return max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else float("inf")


def test_rotating_the_apps_secrets_is_an_up_and_the_feed_carries_on(clone, up, backends, progress):
    """New values for every secret an app holds, written into secrets.env, then `./bigdata up`:
    the stores take the new passwords live (Kafka's SCRAM credentials, Cassandra's roles,
    Redis' ACL users applied without a restart, so sessions carry on), Spark's daemons
    restart onto the new shared secret, the apps roll onto new Swarm secrets, and a
    browser's view of the dashboard keeps getting live prices (the gap is reported). After:
    every app healthy, known ticks end to end (Cassandra, and Spark's windows), the old
    passwords refused."""
    secrets_file = clone / "inventories" / "secrets.env"
    values = secrets.file_values(secrets_file)
    fresh = secrets.generate()
    rotated = {**values, **{name: fresh[name] for name in APP_SECRETS}}
    watch = PriceWatch(f"http://localhost:{PORT}/", DEFAULT_SYMBOLS[0])
    watch.start()
    try:
        wait_until(lambda: watch.arrivals, 60, "live prices at the dashboard before the rotation")
        secrets_file.write_text("".join(f"{name}={value}\n" for name, value in rotated.items()))
        started = time.monotonic()
        done = bigdata(clone, "up")
        assert done.returncode == 0, done.stdout[-4000:]
        for deploy in ("deploys/site.py", "deploys/apps.py"):
            changed = re.search(rf"{deploy}: (\d+) operation\(s\) changed", done.stdout)
            assert changed and int(changed.group(1)) > 0, done.stdout[-4000:]
        wait_until(lambda: watch.arrivals[-1] > time.monotonic() - 5, 120, "live prices after the rotation")
        gap = watch.longest_gap(started)
    finally:
        watch.done.set()
    progress(f"rotating {len(APP_SECRETS)} app secrets: `up` took {done.seconds:.0f}s, "
             f"the dashboard's longest gap between live prices {gap:.1f}s")
    assert gap < 120, f"the feed stopped for {gap:.0f}s"

    new = backends_of(NODE, rotated, ca_dir=clone_ca(clone))
    writer_old, writer_new = (b.service_settings("services.storage_writer") for b in (backends, new))
    dashboard_old = backends.service_settings("services.dashboard")
    clients.cassandra_session(writer_new).cluster.shutdown()  # the writer's new login (it may write, not read)
    known_ticks_end_to_end(new, "rotated", 70, seed=13)  # the apps and the job on their new secrets
    with pytest.raises(Exception, match="Bad credentials"):
        clients.cassandra_session(writer_old)
    with pytest.raises(Exception, match="invalid username-password pair"):
        clients.redis_client(dashboard_old).ping()
    refused = kafka_login(writer_old.kafka_user, writer_old.kafka_password.get_secret_value())
    assert refused.returncode != 0 and "Authentication failed" in refused.stdout + refused.stderr, refused.stderr
    # (the new logins are the apps' own: the writer stored the known ticks above with its new password)
    # (the restarted job may still be working off the backlog of its restart: status says so until it has)
    wait_until(lambda: bigdata(clone, "status", timeout=120).returncode == Exit.OK, 300, "status healthy again")


def kafka_login(user: str, password: str) -> subprocess.CompletedProcess:
    """Kafka's answer to a login as `user` (BrokerApiVersionsCommand on the node, with the
    node's own client settings but that login)."""
    jaas = ("sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{password}";')
    path = f"/root/rotation-{user}.properties"
    script = (f"umask 077; grep -v '^sasl.jaas.config' {ADMIN_CONFIG} > {path}; cat >> {path}; "
              f"{TOOL} org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server {NODE}:9092 "
              f"--command-config {path}; code=$?; rm -f {path}; exit $code")
    return subprocess.run(["docker", "exec", "-i", NODE, "sh", "-c", script], input=jaas + "\n",
                          capture_output=True, text=True, timeout=180)


def test_scale_runs_three_writers_sharing_the_partitions_and_remembers_them(clone, up, backends):
    """`scale` asks Swarm for three storage writers at once, which share the tick topic's
    three partitions, and remembers them in the file `up` passes to the pipeline deploy
    (pipeline_scale)."""
    done = bigdata(clone, "scale", "storage-writer=3", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"storage-writer +ok +3/3 replicas running, healthy", done.stdout), done.stdout[-3000:]
    assert '"storage-writer": 3' in (clone / "inventories" / "scale.json").read_text()
    groups = subprocess.run(["docker", "exec", NODE, "docker", "service", "ps", "--filter", "desired-state=running",
                             "-q", "bigdata_storage-writer"], capture_output=True, text=True, check=True)
    assert len(groups.stdout.split()) == 3
    kafka = Kafka(backends.settings)
    wait_until(lambda: sorted(kafka.group_members(WRITER_GROUP)) == [[0], [1], [2]], 120,
               "three writers holding one partition each")


def test_status_names_a_spark_worker_the_master_lost_while_systemd_says_active(clone, up):
    worker = subprocess.run(["docker", "exec", NODE, "systemctl", "show", "-p", "MainPID", "--value", "spark-worker"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert worker.isdigit() and worker != "0", worker

    def signal_worker(signum):
        subprocess.run(["docker", "exec", NODE, "kill", f"-{signum.name.removeprefix('SIG')}", worker], check=True)

    signal_worker(signal.SIGSTOP)  # the worker's heartbeats stop; its process and unit stay
    try:
        lost = wait_until(lambda: (done := bigdata(clone, "status", timeout=120)).returncode == Exit.UNHEALTHY
                          and re.search(r"^\s+spark\s+FAILING", done.stdout, re.M) and done, 120,
                          "status naming the lost Spark worker")
        assert "not healthy: " in lost.stdout and "spark" in lost.stdout.split("not healthy: ")[1], lost.stdout
        unit = subprocess.run(["docker", "exec", NODE, "systemctl", "is-active", "spark-worker"],
                              capture_output=True, text=True).stdout.strip()
        assert unit == "active", "systemd should still believe in the worker: that is the point"
    finally:
        signal_worker(signal.SIGCONT)
    wait_until(lambda: bigdata(clone, "status", timeout=120).returncode == Exit.OK, 240,
               "status healthy again once the worker is back")


def test_down_leaves_no_container_network_or_volume(clone, up):
    assert any(made_by_up().values())  # what `up` made is there, so that its absence below means something
    down = bigdata(clone, "down")
    assert down.returncode == 0, down.stdout
    assert made_by_up() == {"container": [], "network": [], "volume": []}
    status = bigdata(clone, "status", timeout=120)
    assert status.returncode == Exit.NOT_UP and "`./bigdata up` starts it" in status.stdout, status.stdout
