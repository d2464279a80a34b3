"""Spark 4 standalone: a master on the spark_master host, a worker on each
spark_worker host, from the Apache release archive (or the project's mirror).

Spark 4 has no Mesos support, so it runs its own standalone cluster manager:

    bin/spark-class org.apache.spark.deploy.master.Master --host <addr> --port 7077 --webui-port 8080
    bin/spark-class org.apache.spark.deploy.worker.Worker spark://<master>:7077 --cores N --memory Mm

both as systemd units running as the service user, logging to `<log_dir>/spark/`,
with RPC authenticated by the cluster's shared secret and encrypted (spark.authenticate,
spark.network.crypto): a driver without the secret is refused. The daemons read the secret
from a root-only environment file; `spark-submit` on a host takes it with
`--properties-file /etc/bigdata/spark/auth.conf --load-spark-defaults` (root and the
service group only). The driver's UI is off; the master's and workers' UIs answer only
a request signed with the UIs' key (Spark's JWSFilter, deploys/spark/ui.py: the key is
derived from the shared secret; a token is left on each host for checks and operators),
and the master's REST submission server (6066) is off.
the worker's work and scratch directories under `<data_dir>/spark/`. The client
configuration (`conf/spark-defaults.conf`, `conf/spark-env.sh`) is written on
every Spark host, so `spark-submit` there reaches the cluster with nothing else
set. The deploy is ready when the master lists its workers ALIVE.
"""
from io import StringIO

from pydantic import Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.hardware import Cpus
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from deploys import common
from deploys.artifacts import install_distribution
from deploys.common import plain_file, template
from deploys.facts import MemoryMb
from deploys.health import wait_until
from deploys.settings import ComponentSettings, Port, secret
from deploys.spark import ui
from deploys.topology import address, members

READY_SCRIPT = "/usr/local/lib/bigdata/spark_ready.py"
AUTH_DIR = "/etc/bigdata/spark"
AUTH_ENV = f"{AUTH_DIR}/auth.env"  # _SPARK_AUTH_SECRET for the daemons (root only: systemd reads it)
AUTH_CONF = f"{AUTH_DIR}/auth.conf"  # spark.authenticate.secret for spark-submit (root and the service group)
UI_TOKEN = f"{AUTH_DIR}/ui.token"  # a JWS the master's and workers' UIs accept (root only: checks, operators)


class Settings(ComponentSettings):
    groups = ("spark_master", "spark_worker")

    spark_master_port: Port = 7077
    spark_master_webui_port: Port = 8080
    # fixed rather than Spark's random worker port, so that a firewall can name it
    spark_worker_port: Port = 7078
    spark_worker_webui_port: Port = 8081
    # what each worker offers to applications; None: every core of the host
    spark_worker_cores: int | None = Field(None, ge=1)
    # None: half the host's memory (at least 1 GiB): the platform shares its
    # nodes with Kafka and Cassandra, unlike Spark's own default (all but 1 GiB)
    spark_worker_memory_mb: int | None = Field(None, ge=512)
    # an application's defaults (spark-defaults.conf); Spark refuses less than ~450 MB
    spark_executor_memory_mb: int = Field(1024, ge=512)
    spark_driver_memory_mb: int = Field(1024, ge=512)
    # heap of the master and worker daemons (SPARK_DAEMON_MEMORY); None: from the host's memory
    spark_daemon_heap_mb: int | None = Field(None, ge=64)
    # None: the cores of all workers (Spark's 200 makes a small streaming aggregation crawl)
    spark_sql_shuffle_partitions: int | None = Field(None, ge=1)
    # finished applications' work directories are removed after this long
    spark_worker_cleanup_ttl_hours: int = Field(168, ge=1)
    # the master declares a worker DEAD after this long without a heartbeat (workers beat
    # every quarter of it); Spark's default, 60 s, rides out long GC pauses
    spark_worker_timeout_s: int = Field(60, ge=4)
    # the cluster's shared secret: the daemons, the workers' executors and every driver
    spark_auth_secret: str = secret("BIGDATA_SPARK_AUTH_SECRET", min_length=16)

    def cluster_problems(self, group_sizes: dict[str, int]) -> list[tuple[str, str]]:
        problems = []
        masters, workers = group_sizes.get("spark_master", 0), group_sizes.get("spark_worker", 0)
        if workers and not masters:
            problems.append(("spark_master", f"no host in group spark_master, but {workers} spark_worker "
                                             f"host(s): workers need a master"))
        if masters > 1:
            problems.append(("spark_master", f"{masters} hosts; a standalone master without a recovery "
                                             f"mode runs on exactly one"))
        if self.spark_worker_memory_mb is not None and self.spark_executor_memory_mb > self.spark_worker_memory_mb:
            problems.append(("spark_executor_memory_mb",
                             f"{self.spark_executor_memory_mb} MB is more than a worker offers "
                             f"(spark_worker_memory_mb {self.spark_worker_memory_mb}): no executor could start"))
        return problems


def daemon_heap_mb(settings: Settings, memory_mb: int | None) -> int:
    """The daemons' heap: the setting, else 1/32 of the host's memory within 256 MB..1 GiB."""
    return common.heap_mb(settings.spark_daemon_heap_mb, memory_mb, share=32, low=256, high=1024)


def worker_memory_mb(settings: Settings, memory_mb: int | None) -> int:
    """What a worker offers: the setting, else half the host's memory, at least 1 GiB."""
    return common.heap_mb(settings.spark_worker_memory_mb, memory_mb, share=2, low=1024)


def worker_cores(settings: Settings, cpus: int | None) -> int:
    return settings.spark_worker_cores or max(1, cpus or 1)


def shuffle_partitions(settings: Settings, cores_per_worker: int, workers: int) -> int:
    """One shuffle partition per core of the cluster, unless set."""
    return settings.spark_sql_shuffle_partitions or max(1, cores_per_worker * max(1, workers))


def master_url(settings: Settings) -> str:
    (master, *_) = members("spark_master")
    return f"spark://{address(master)}:{settings.spark_master_port}"


@deploy("Spark", data_defaults=Settings.defaults())
def install_spark():
    """Install Spark, run the master and/or the worker of this host, and wait until
    the master lists the workers ALIVE.

    Args (inventory data, defaults in `Settings`):
        spark_master_port, spark_master_webui_port, spark_worker_port, spark_worker_webui_port
        spark_worker_cores, spark_worker_memory_mb: what a worker offers (None: from the host)
        spark_executor_memory_mb, spark_driver_memory_mb: applications' defaults
        spark_daemon_heap_mb: the master's and workers' heap (None: from the host's memory)
        spark_sql_shuffle_partitions: None: the cluster's cores
        spark_auth_secret: required secret shared by the daemons and every driver
    """
    settings = Settings.from_host(host)
    base = common.Settings.from_host(host)
    user = base.service_user
    memory_mb = host.get_fact(MemoryMb)
    cores = worker_cores(settings, host.get_fact(Cpus))
    workers = members("spark_worker")
    is_master, is_worker = "spark_master" in host.groups, "spark_worker" in host.groups

    # PySpark runs Python on the workers (and drivers) that submit Python code
    apt.packages(name="Install Python for PySpark", packages=["python3"], no_recommends=True)
    home = install_distribution("spark", base.artifact_base_url, base.install_dir, user)

    spark_data, spark_logs = f"{base.data_dir}/spark", f"{base.log_dir}/spark"
    dirs = {"data": spark_data, "work": f"{spark_data}/work", "local": f"{spark_data}/local",
            "tmp": f"{spark_data}/tmp", "logs": spark_logs,
            # streaming jobs' state and offsets (services/stream_processor's default checkpoint lives here)
            "checkpoints": f"{spark_data}/checkpoints"}
    for path in dirs.values():
        files.directory(name=f"Create {path}", path=path, user=user, group=user, mode="0750")

    context = dict(settings=settings, home=home, dirs=dirs, master_url=master_url(settings), auth_conf=AUTH_CONF,
                   shuffle_partitions=shuffle_partitions(settings, cores, len(workers)))
    configs = [
        files.template(name=f"Configure Spark: {name}", src=template(__package__, f"{name}.j2"),
                       dest=f"{home}/conf/{name}", user="root", group=user, mode="0644", **context)
        for name in ("spark-env.sh", "spark-defaults.conf", "log4j2.properties")
    ]
    files.directory(name=f"Create {AUTH_DIR}", path=AUTH_DIR, user="root", group=user, mode="0750")
    options = ui.daemon_options(settings.spark_auth_secret)
    configs.append(files.put(
        name="The cluster's shared secret and the UIs' key for the daemons", dest=AUTH_ENV, user="root",
        group="root", mode="0600",
        src=StringIO(f"# Managed by the bigdata bundle (deploys/spark)\n_SPARK_AUTH_SECRET={settings.spark_auth_secret}\n"
                     f'SPARK_MASTER_OPTS="{options}"\nSPARK_WORKER_OPTS="{options}"\n')))
    files.put(name="A token for the master's and workers' UIs (root only)", dest=UI_TOKEN, user="root",
              group="root", mode="0600", src=StringIO(ui.token(settings.spark_auth_secret) + "\n"))
    files.put(name="The cluster's shared secret for spark-submit", dest=AUTH_CONF, user="root", group=user,
              mode="0640", src=StringIO(f"# Managed by the bigdata bundle (deploys/spark): spark-submit --properties-file "
                                        f"{AUTH_CONF} --load-spark-defaults ...\n"
                                        f"spark.authenticate.secret {settings.spark_auth_secret}\n"))
    files.directory(name="Create /usr/local/lib/bigdata", path=READY_SCRIPT.rsplit("/", 1)[0], mode="0755")
    files.put(name="Install the Spark readiness check", src=plain_file(__package__, "spark_ready.py"),
              dest=READY_SCRIPT, mode="0755")

    daemon = dict(context, service_user=user, auth_env=AUTH_ENV, heap_mb=daemon_heap_mb(settings, memory_mb),
                  nofile=common.open_files("Spark"), bind_host=address())
    started = []  # operations that (re)started a daemon on this host
    for role, wanted in (("master", is_master), ("worker", is_worker)):
        if wanted:
            started += _daemon(role, home, configs, dict(daemon, role=role, cores=cores,
                                                         memory_mb=worker_memory_mb(settings, memory_mb)))

    wait_until(
        "Wait until the Spark master lists " + ("every worker" if is_master else "this worker") + " ALIVE",
        workers_alive_check(settings, address(members("spark_master")[0]),
                            [address(w) for w in workers] if is_master else [], address() if is_worker else None),
        timeout=180, _if=any_changed(*started),
    )


def workers_alive_check(settings: Settings, master: str, workers: list[str], own: str | None = None) -> str:
    """Succeeds when the master at `master` is ALIVE and lists a worker ALIVE on each of
    `workers` (and this host's own, if `own` is its address); prints the ALIVE workers.
    The deploy waits on it; `./bigdata status` reports it."""
    own_ui = f" --self http://{own}:{settings.spark_worker_webui_port}" if own else ""
    return (f"python3 {READY_SCRIPT} --token-file {UI_TOKEN} http://{master}:{settings.spark_master_webui_port} "
            f"{' '.join(workers)}{own_ui}")


def _daemon(role: str, home: str, configs: list, context: dict):
    """The master's or worker's log configuration and unit, (re)started when any of
    them or the shared configuration changed. Returns the operations that may start it."""
    unit_name = f"spark-{role}"
    log_config = files.template(
        name=f"Configure the Spark {role}'s log", src=template(__package__, "log4j2-daemon.properties.j2"),
        dest=f"{home}/conf/log4j2-{role}.properties", user="root", group=context["service_user"], mode="0644",
        **context)
    unit = files.template(
        name=f"Install the {unit_name} unit", src=template(__package__, "spark-daemon.service.j2"),
        dest=f"/etc/systemd/system/{unit_name}.service", mode="0644", **context)
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    restart = systemd.service(
        name=f"Restart {unit_name} on a change", service=unit_name, running=True, enabled=True, restarted=True,
        _if=any_changed(unit, log_config, *configs))
    keep = systemd.service(name=f"Keep {unit_name} enabled and running", service=unit_name, running=True,
                           enabled=True)
    return [restart, keep]


def status_check(values, name: str, ip: str) -> tuple[str, dict]:
    """What `./bigdata status` runs on a one-node platform: its worker ALIVE at the master."""
    return workers_alive_check(Settings.from_values(values), name, [name]), {}
