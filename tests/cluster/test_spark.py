"""deploys/spark on one host and on three, verified by testinfra: the daemons run
where the inventory puts them, the master lists every worker ALIVE, a real PySpark job
runs on the cluster's executors, and a driver without the cluster's secret is refused."""
import json
import os
import shlex
import textwrap

import pytest

from deploys import spark
from deploys.spark import ui

HOME = "/opt/bigdata/spark"


@pytest.fixture(scope="module")
def cluster(platform):
    """The platform's Spark roles and settings, from its inventory."""
    (master,) = platform.members("spark_master")
    settings = {name: platform.settings(name, spark.Settings) for name in platform.names}
    hosts = dict(zip(platform.names, platform.hosts))
    return dict(master=master, workers=platform.members("spark_worker"), settings=settings, hosts=hosts,
                master_ui=f"http://{master}:{settings[master].spark_master_webui_port}")


def ui_status(host, url, token: str | None = f"$(cat {spark.UI_TOKEN})") -> int:
    """The HTTP status a UI answers with, asked with `token` (by default the deploy's)."""
    header = f"-H \"Authorization: Bearer {token}\" " if token else ""
    return int(host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 {header}{url}/json/"))


def master_state(host, master_ui) -> dict:
    return json.loads(host.check_output(f"curl -sf --max-time 5 -H \"Authorization: Bearer $(cat {spark.UI_TOKEN})\" "
                                        f"{master_ui}/json/"))


def java_of(host, unit) -> tuple[str, str]:
    """(user, command line) of a unit's main process."""
    pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
    assert pid not in ("", "0"), f"{unit} has no main process on {host.backend.name}"
    return host.check_output(f"ps -o user= -p {pid}"), host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline")


def test_daemons_run_where_the_inventory_puts_them(platform, cluster):
    for name, host in cluster["hosts"].items():
        for unit, wanted in (("spark-master", name == cluster["master"]), ("spark-worker", name in cluster["workers"])):
            service = host.service(unit)
            assert service.is_running == wanted and service.is_enabled == wanted, f"{unit} on {name}"
            if wanted:
                user, cmdline = java_of(host, unit)
                assert user == "bigdata", f"{unit} runs as {user} on {name}"
                memory_mb = int(host.check_output("awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo"))
                heap = spark.daemon_heap_mb(cluster["settings"][name], memory_mb)
                assert f"-Xmx{heap}m" in cmdline, cmdline
                rss_mb = int(host.check_output(f"ps -o rss= -p $(systemctl show -p MainPID --value {unit})")) // 1024
                print(f"{name} {unit}: heap {heap} MB, RSS {rss_mb} MB")


def test_master_lists_every_worker_alive(cluster):
    # asked from every Spark host: each reaches the master by its inventory address
    for host in cluster["hosts"].values():
        state = master_state(host, cluster["master_ui"])
        assert state["status"] == "ALIVE"
        alive = [w for w in state["workers"] if w["state"] == "ALIVE"]
        assert sorted(w["host"] for w in alive) == sorted(cluster["workers"]), state["workers"]
        assert state["aliveworkers"] == len(cluster["workers"])
        for worker in alive:
            settings = cluster["settings"][worker["host"]]
            assert worker["cores"] == settings.spark_worker_cores
            assert worker["memory"] == settings.spark_worker_memory_mb
            assert worker["port"] == settings.spark_worker_port


def test_daemons_log_to_the_log_dir(cluster):
    master = cluster["hosts"][cluster["master"]]
    log = master.file("/var/log/bigdata/spark/spark-master.log")
    assert log.user == "bigdata" and "I have been elected leader" in log.content_string
    for name in cluster["workers"]:
        log = cluster["hosts"][name].file("/var/log/bigdata/spark/spark-worker.log")
        assert "Successfully registered with master" in log.content_string, name


def test_client_configuration_points_at_the_master(cluster):
    total_cores = sum(cluster["settings"][w].spark_worker_cores for w in cluster["workers"])
    for host in cluster["hosts"].values():
        defaults = dict(line.split(None, 1) for line in host.file(f"{HOME}/conf/spark-defaults.conf")
                        .content_string.splitlines() if line.strip() and not line.startswith("#"))
        assert defaults["spark.master"] == f"spark://{cluster['master']}:7077"
        assert int(defaults["spark.sql.shuffle.partitions"]) == total_cores, "one shuffle partition per core"


JOB = """
import json, sys, urllib.request
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("bigdata-smoke-test").getOrCreate()
sc = spark.sparkContext
cores = int(sys.argv[1])
squares = sc.parallelize(range(1, 1001), cores).map(lambda x: x * x).sum()  # Python on the executors
groups = {r["k"]: r["count"] for r in spark.range(0, 700).selectExpr("id % 7 AS k").groupBy("k").count().collect()}
with urllib.request.urlopen(f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/executors") as response:
    executors = [e["hostPort"].rsplit(":", 1)[0] for e in json.load(response) if e["id"] != "driver"]
print("RESULT " + json.dumps({
    "app_id": sc.applicationId, "master": sc.master, "squares": squares, "groups": groups,
    "executors": sorted(executors),
    "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
}))
spark.stop()
"""


def test_a_pyspark_job_runs_on_every_worker(cluster):
    host = cluster["hosts"][cluster["master"]]
    cores = sum(cluster["settings"][w].spark_worker_cores for w in cluster["workers"])
    host.check_output(f"printf %s {shlex.quote(textwrap.dedent(JOB))} > /root/smoke_job.py")
    master_url = f"spark://{cluster['master']}:7077"
    # wait until every worker's executor has registered, so the job must use them all
    submit = host.run(
        f"timeout 300 {HOME}/bin/spark-submit --properties-file {spark.AUTH_CONF} --load-spark-defaults "
        f"--master {master_url} --conf spark.cores.max={cores} "
        f"--conf spark.scheduler.minRegisteredResourcesRatio=1.0 "
        f"--conf spark.scheduler.maxRegisteredResourcesWaitingTime=120s /root/smoke_job.py {cores}")
    assert submit.rc == 0, submit.stderr[-4000:]
    (line,) = [line for line in submit.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["master"] == master_url
    assert result["squares"] == sum(x * x for x in range(1, 1001))
    assert result["groups"] == {str(k): 100 for k in range(7)}  # JSON keys are strings
    assert result["executors"] == sorted(cluster["workers"]), "one executor on every worker"
    assert result["shuffle_partitions"] == str(cores)
    # the master saw the application run and finish
    finished = {app["id"]: app for app in master_state(host, cluster["master_ui"])["completedapps"]}
    assert finished[result["app_id"]]["state"] == "FINISHED"
    assert finished[result["app_id"]]["name"] == "bigdata-smoke-test"


def test_a_driver_without_the_clusters_secret_is_refused(three_node):
    """An unauthenticated submission never registers: the master drops its connections.
    (The same check on both shapes: it runs in the three-node lane, which has the time.)"""
    (master,) = three_node.members("spark_master")
    host = three_node.hosts[three_node.names.index(master)]
    master_ui = f"http://{master}:{three_node.settings(master, spark.Settings).spark_master_webui_port}"
    host.check_output(f"printf %s {shlex.quote(textwrap.dedent(JOB))} > /root/smoke_job.py")

    def applications():
        state = master_state(host, master_ui)
        return {app["id"] for app in state["activeapps"] + state["completedapps"]}

    before = applications()
    # a client without the secret, as an outsider's would be (the host's spark-defaults turn
    # encryption on, which a driver refuses without authentication)
    submit = host.run(f"timeout 240 {HOME}/bin/spark-submit --master spark://{master}:7077 "
                      f"--conf spark.authenticate=false --conf spark.network.crypto.enabled=false "
                      f"/root/smoke_job.py 1")
    said = submit.stdout + submit.stderr
    assert submit.rc != 0 and "RESULT " not in submit.stdout, said[-3000:]
    assert "Expected SaslMessage" in said and "All masters are unresponsive" in said, said[-3000:]
    assert applications() == before, "the master registered an unauthenticated application"


def test_the_secret_is_readable_by_root_and_the_service_group_only(cluster):
    for name, host in cluster["hosts"].items():
        env, conf = host.file(spark.AUTH_ENV), host.file(spark.AUTH_CONF)
        assert (env.user, env.group, env.mode) == ("root", "root", 0o600), name
        assert (conf.user, conf.group, conf.mode) == ("root", "bigdata", 0o640), name
        assert os.environ["BIGDATA_SPARK_AUTH_SECRET"] not in host.file(f"{HOME}/conf/spark-defaults.conf").content_string
        assert os.environ["BIGDATA_SPARK_AUTH_SECRET"] in host.file(spark.AUTH_CONF).content_string, name


def test_the_uis_answer_only_a_request_signed_with_their_key(cluster):
    """The master's and every worker's UI refuse (403) a request without a token, and one
    signed with another key; they answer the deploy's token. The REST submission port is closed."""
    master = cluster["hosts"][cluster["master"]]
    foreign = ui.token("another-clusters-secret-0123456789")
    for name in [cluster["master"], *cluster["workers"]]:
        port = cluster["settings"][name].spark_master_webui_port if name == cluster["master"] else \
            cluster["settings"][name].spark_worker_webui_port
        statuses = [ui_status(master, f"http://{name}:{port}", token) for token in (None, foreign)]
        assert statuses == [403, 403], f"{name}:{port}: {statuses}"
        if name != cluster["master"]:
            assert ui_status(master, f"http://{name}:{port}") == 200, f"{name}:{port}"
    assert master_state(master, cluster["master_ui"])["status"] == "ALIVE"
    assert master.run(f"nc -z -w 3 {cluster['master']} 6066").rc != 0, "the REST submission server listens"
    for name, host in cluster["hosts"].items():
        token = host.file(spark.UI_TOKEN)
        assert (token.user, token.group, token.mode) == ("root", "root", 0o600), name


def test_second_run_changes_and_restarts_nothing(platform, cluster):
    assert "Wait until the Spark master lists" in platform.first_run.output, "the first run deployed Spark"
    assert platform.second_run.changed == 0, platform.second_run.output[-3000:]
    for name, host in cluster["hosts"].items():
        for unit in ("spark-master",) * (name == cluster["master"]) + ("spark-worker",) * (name in cluster["workers"]):
            assert host.check_output(f"systemctl show -p NRestarts --value {unit}") == "0", f"{unit} on {name}"


def test_streaming_checkpoints_have_a_home_owned_by_the_service_user(cluster):
    # the stream processor's default checkpoint (services/stream_processor/settings.py) lives under it
    from services.stream_processor.settings import CHECKPOINT
    for name, host in cluster["hosts"].items():
        directory = host.file(CHECKPOINT.rsplit("/", 1)[0])
        assert directory.is_directory and directory.user == "bigdata" and directory.mode == 0o750, name
