"""The service images (ctl/images.py, images/pipeline/Dockerfile), built and run here.

What the runtime relies on: every service imports and starts as `python -m
services.<name>` as a non-root user in /opt/bigdata/app, honours $PORT0, and the
image's HEALTHCHECK tells a service answering /health with 200 from one that is
degraded or not there; the spark-job image runs a real Spark job. The layer design
(one code layer on top of layers the two images share) is checked on the images.
"""
import json
import os
import subprocess
import time
import uuid

import pytest

from ctl import hosts, images, prereqs

OWNER = f"rig:{os.getpid()}"  # the rig's owner label: a killed run's containers are swept by the next
SERVICES = ["producer", "storage_writer", "redis_publisher", "live_lane", "dashboard", "stream_processor"]
# a real services.core.service.Service (what every service runs), healthy, on its default port 8099
HEALTHY_SERVICE = ("from services.core.service import Service; from services.core.settings import Settings; "
                   "s = Service('probe', Settings.from_env(), 8099); s.start(); s.healthy(); s.stopping.wait()")


@pytest.fixture(scope="session")
def built() -> dict[str, str]:
    prereqs.ensure_docker()
    hosts.remove_orphans()
    return images.pipeline_images()


@pytest.fixture(scope="session")
def service_images(built) -> dict[str, str]:
    """image repository -> the image built now (repository:tag)."""
    return {repo: f"{repo}:{tag}" for repo, tag in built.items()}


@pytest.fixture
def container(service_images):
    """start(image, *command, env={}, flags=[]): a detached container, removed at the end."""
    started = []

    def start(image: str, *command: str, env: dict | None = None, flags: list | None = None) -> str:
        name = f"imgtest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        env_flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
        subprocess.run(["docker", "run", "--detach", "--name", name, "--label", f"{hosts.OWNER_LABEL}={OWNER}",
                        *env_flags, *(flags or []), image, *command], check=True, capture_output=True)
        started.append(name)
        return name

    yield start
    if started:
        subprocess.run(["docker", "rm", "--force", *started], capture_output=True)


def inspect(image: str) -> dict:
    return json.loads(subprocess.run(["docker", "image", "inspect", image], check=True, capture_output=True,
                                     text=True).stdout)[0]


def run_in(image: str, *command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env_flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return subprocess.run(["docker", "run", "--rm", *env_flags, image, *command], capture_output=True, text=True,
                          timeout=300)


def healthcheck(name: str, image: str) -> int:
    """Run the image's own HEALTHCHECK command in the container; its exit code."""
    test = inspect(image)["Config"]["Healthcheck"]["Test"]
    assert test[0] == "CMD", test
    return subprocess.run(["docker", "exec", name, *test[1:]], capture_output=True, timeout=60).returncode


def http_get(name: str, port: int) -> tuple[int, dict]:
    """GET /health from inside the container (the image has no curl)."""
    script = ("import json, sys, urllib.request, urllib.error\n"
              f"try: r = urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=5)\n"
              "except urllib.error.HTTPError as e: r = e\n"
              "print(json.dumps([r.status, json.load(r)]))")
    out = subprocess.run(["docker", "exec", name, "python", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    status, body = json.loads(out.stdout)
    return status, body


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def docker_health(name: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", name], capture_output=True,
                          text=True).stdout.strip()


# --- contents -------------------------------------------------------------------------------

def test_both_images_run_as_a_non_root_user_in_the_app_directory(service_images):
    for image in service_images.values():
        config = inspect(image)["Config"]
        assert config["User"] == "bigdata" and config["WorkingDir"] == "/opt/bigdata/app", config
        out = run_in(image, "sh", "-c", "id -u; pwd; command -v python")
        uid, cwd, python = out.stdout.split()
        assert uid != "0" and cwd == "/opt/bigdata/app" and python == "/opt/bigdata/venv/bin/python", out


@pytest.mark.parametrize("image_repo", [images.PIPELINE_REPO, images.SPARK_JOB_REPO])
def test_every_service_module_imports_in_the_image(service_images, image_repo):
    # every module of services/ but the entry points (they run the service) and the client
    # benchmark (kafka-python, a test tool, is not in the image)
    script = ("import importlib, pkgutil, services\n"
              "names = [m.name for m in pkgutil.walk_packages(services.__path__, 'services.') "
              "if not m.name.endswith('__main__') and not m.name.endswith('clientbench')]\n"
              "[importlib.import_module(n) for n in names]\n"
              "print(' '.join(names))")
    out = run_in(service_images[image_repo], "python", "-c", script)
    assert out.returncode == 0, out.stderr[-3000:]
    imported = set(out.stdout.split())
    assert {f"services.{name}" for name in SERVICES} <= imported, imported
    assert "services.stream_processor.job" in imported and "services.core.service" in imported


def test_the_image_carries_no_caches_and_its_code_is_read_only_to_the_service(service_images):
    out = run_in(service_images[images.PIPELINE_REPO], "sh", "-c",
                 "find /opt/bigdata/app -name __pycache__ | wc -l; ls /var/lib/apt/lists | wc -l; "
                 "ls /var/cache/apt/*.bin 2>/dev/null | wc -l; ls -d /root/.cache 2>/dev/null | wc -l; "
                 "touch /opt/bigdata/app/services/x 2>/dev/null && echo writable || echo read-only")
    assert out.stdout.split() == ["0", "0", "0", "0", "read-only"], out.stdout


def test_the_services_wheels_match_the_lock(service_images):
    out = run_in(service_images[images.PIPELINE_REPO], "python", "-c",
                 "import importlib.metadata as m; print('\\n'.join(sorted("
                 "f'{d.metadata[\"Name\"]}=={d.version}' for d in m.distributions())))")
    from packaging.utils import canonicalize_name  # as image_requirements() names them (zope.event: zope-event)
    installed = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in out.stdout.split()}
    wanted = {r.split("==")[0]: r.split("==")[1] for r in images.image_requirements()}
    assert installed == wanted


# --- the services in the image ------------------------------------------------------------

def test_a_service_honours_port0_and_the_healthcheck_reports_it_degraded(service_images, container):
    """The producer with no Kafka to reach keeps running, degraded: /health on $PORT0 says
    503, and the image's HEALTHCHECK fails (only 200 is healthy)."""
    image = service_images[images.PIPELINE_REPO]
    name = container(image, "python", "-m", "services.producer",
                     env={"PORT0": "18123", "BIGDATA_KAFKA_BOOTSTRAP": "127.0.0.1:1",
                          "BIGDATA_KAFKA_USER": "producer", "BIGDATA_KAFKA_PASSWORD": "not-used-no-broker",
                          "BIGDATA_PRODUCER_TOKEN": "not-used-no-control-request"})
    status, body = wait_for(lambda: _answer(name, 18123), what="the producer's /health on $PORT0")
    assert status == 503 and body["service"] == "producer", body
    assert healthcheck(name, image) == 1


def _answer(name: str, port: int):
    try:
        return http_get(name, port)
    except AssertionError:
        return None


@pytest.mark.parametrize("env", [{}, {"BIGDATA_HTTP_PORT": "18124"}, {"PORT0": "18125"}],
                         ids=["default-port", "BIGDATA_HTTP_PORT", "PORT0"])
def test_the_healthcheck_passes_when_health_answers_200(service_images, container, env):
    image = service_images[images.PIPELINE_REPO]
    name = container(image, "python", "-c", HEALTHY_SERVICE, env=env)
    port = int(env.get("BIGDATA_HTTP_PORT") or env.get("PORT0") or 8099)
    status, _ = wait_for(lambda: _answer(name, port), what="the probe service's /health")
    assert status == 200
    assert healthcheck(name, image) == 0


def test_the_healthcheck_fails_when_nothing_listens(service_images, container):
    image = service_images[images.PIPELINE_REPO]
    for env in ({}, {"PORT0": "18126"}):
        name = container(image, "python", "-c", "import time; time.sleep(600)", env=env)
        assert healthcheck(name, image) == 1


def test_docker_reports_health_from_the_images_healthcheck(service_images, container):
    """The engine itself runs the HEALTHCHECK (short intervals here; the command is the image's)."""
    image = service_images[images.PIPELINE_REPO]
    fast = ["--health-interval=1s", "--health-start-period=0s", "--health-retries=1"]
    healthy = container(image, "python", "-c", HEALTHY_SERVICE, flags=fast)
    silent = container(image, "python", "-c", "import time; time.sleep(600)", flags=fast)
    # generous waits: on a loaded machine (the other test lane deploying) a probe's Python may
    # take many seconds to start; the verdict, not its speed, is what this test checks
    wait_for(lambda: docker_health(healthy) == "healthy", 240, what=f"{healthy} healthy")
    wait_for(lambda: docker_health(silent) == "unhealthy", 240, what=f"{silent} unhealthy")


# --- the spark-job image ----------------------------------------------------------------------

def test_the_spark_job_image_runs_a_spark_job_as_another_uid_with_the_kafka_connector(service_images, tmp_path):
    """As the runtime may run it: as the host's service user (any uid), writing to a
    directory of that user's (the checkpoint's case)."""
    uid = 23456
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    os.chown(shared, uid, uid)
    script = ("import os\n"
              "from services.stream_processor import job\n"
              "job.import_pyspark(os.environ['BIGDATA_SPARK_HOME'])\n"
              "from pyspark.sql import SparkSession\n"
              "spark = SparkSession.builder.master('local[1]').appName('image-test').getOrCreate()\n"
              "spark.range(1000).write.parquet('/shared/numbers')\n"
              "print('sum', spark.read.parquet('/shared/numbers').selectExpr('sum(id)').first()[0])\n"
              "print('kafka', spark._jvm.java.lang.Class.forName("
              "'org.apache.spark.sql.kafka010.KafkaSourceProvider').getName())\n"
              "spark.stop()")
    out = subprocess.run(["docker", "run", "--rm", f"--user={uid}:{uid}", f"--volume={shared}:/shared",
                          service_images[images.SPARK_JOB_REPO], "python", "-c", script],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "sum 499500" in out.stdout
    assert "kafka org.apache.spark.sql.kafka010.KafkaSourceProvider" in out.stdout
    assert {p.stat().st_uid for p in (shared / "numbers").iterdir()} == {uid}


# --- layers and rebuilds -------------------------------------------------------------------------

def test_the_images_share_every_layer_below_the_code(service_images):
    pipeline = inspect(service_images[images.PIPELINE_REPO])["RootFS"]["Layers"]
    spark_job = inspect(service_images[images.SPARK_JOB_REPO])["RootFS"]["Layers"]
    assert spark_job[:len(pipeline) - 1] == pipeline[:-1], "spark-job builds on the pipeline's runtime layers"
    assert len(spark_job) == len(pipeline) + 2, "spark-job adds Java and Spark below the code"
    for image in service_images.values():
        # the top layer is the code alone (services/ and shared/): a changed service rebuilds only that
        top = subprocess.run(["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image],
                             capture_output=True, text=True, check=True).stdout.splitlines()[0]
        assert "COPY dir:" in top and top.endswith("in /opt/bigdata/app "), top
        listing = subprocess.run(["docker", "run", "--rm", "--entrypoint", "du", image, "-sk", "services", "shared"],
                                 capture_output=True, text=True, check=True).stdout.split()
        assert listing[1::2] == ["services", "shared"], listing
        code = sum(int(size) for size in listing[0::2])
        assert code < 10_000, f"the code is {code} KiB"


def test_an_unchanged_recipe_builds_nothing(built, capfd):
    assert images.pipeline_images() == built
    assert "building" not in capfd.readouterr().out


def test_a_failing_build_names_the_image_and_shows_the_failing_steps_output(service_images, tmp_path, capfd):
    (tmp_path / "Dockerfile").write_text(f"FROM {images.base_image()} AS pipeline\n"
                                         "RUN echo the-failing-step-says-why >&2; exit 3\n")
    with pytest.raises(SystemExit):
        images._build("bigdata/pipeline:broken-test", "pipeline", tmp_path)
    err = capfd.readouterr().err
    assert "bigdata/pipeline:broken-test" in err and "the-failing-step-says-why" in err, err
