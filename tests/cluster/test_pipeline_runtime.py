"""The one-node runtime (deploys/pipeline): a Marathon app definition run as Docker
containers under systemd on a rig host with its own Docker engine (deploys/docker).
The app is tests/cluster/pipeline_apps/test-web.json: two instances of a small HTTP
server from the project's host image, whose /health answers its APP_VERSION."""
import json
import time
from pathlib import Path

import pytest

INVENTORY = "tests/cluster/pipeline_inventory.py"
DEPLOY = "deploys/pipeline.py"
APP_FILE = Path(__file__).with_name("pipeline_apps") / "test-web.json"
APP = "test-web"


@pytest.fixture(scope="module")
def apps_host(rig):
    return rig(INVENTORY, DEPLOY)


@pytest.fixture
def host(apps_host):
    return apps_host.hosts[0]


def ports(host) -> dict[int, int]:
    return {int(i): p[0] for i, p in json.loads(host.file(f"/etc/bigdata/apps/{APP}.ports").content_string).items()}


def health(host, port) -> tuple[int, str]:
    """(status, body) of GET /health on the host, as the runner asks it (0: no answer)."""
    script = ("import urllib.request as u, urllib.error as e\n"
              "try:\n r = u.urlopen('http://127.0.0.1:%d/health', timeout=2); print(r.status, r.read().decode())\n"
              "except e.HTTPError as x: print(x.code)\n"
              "except OSError: print(0)" % port)
    out = host.check_output(f"python3 -c \"{script}\"").split(maxsplit=1)
    return int(out[0]), (out[1].strip() if len(out) > 1 else "")


def containers(host) -> dict[str, str]:
    """name -> id of the app's running containers."""
    out = host.check_output("docker ps --filter label=io.bigdata.service=%s --format '{{.Names}} {{.ID}}'" % APP)
    return dict(line.split() for line in out.splitlines())


def write_app(folder: Path, change) -> Path:
    definition = json.loads(APP_FILE.read_text())
    change(definition)
    (folder / APP_FILE.name).write_text(json.dumps(definition, indent=2))
    return folder


def test_two_instances_run_healthy_with_the_definitions_resources_env_and_secrets(apps_host, host):
    assigned = ports(host)
    assert sorted(assigned) == [1, 2] and all(31000 <= p < 32000 for p in assigned.values())
    for instance, port in assigned.items():
        assert host.service(f"bigdata-app-{APP}@{instance}").is_running
        assert health(host, port) == (200, "1")
    inspected = json.loads(host.check_output(f"docker inspect bigdata-{APP}-1"))[0]
    assert inspected["HostConfig"]["NanoCpus"] == 250_000_000 and inspected["HostConfig"]["Memory"] == 96 * 2**20
    assert inspected["HostConfig"]["NetworkMode"] == "host"
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert env["PORT0"] == str(assigned[1]) and env["APP_VERSION"] == "1"
    assert env["BIGDATA_REDIS_PASSWORD"] == __import__("os").environ["BIGDATA_REDIS_PASSWORD"]
    assert inspected["Config"]["Labels"]["io.bigdata.service"] == APP
    assert "/var/lib/bigdata/test-web:/srv/data:rw" in inspected["HostConfig"]["Binds"]
    secrets_file = host.file(f"/etc/bigdata/apps/{APP}.env")
    assert secrets_file.mode == 0o600 and secrets_file.user == "root"
    assert env["BIGDATA_REDIS_PASSWORD"] not in host.file(f"/etc/bigdata/apps/{APP}.json").content_string


def test_second_run_reports_no_changes(apps_host):
    assert apps_host.second_run.changed == 0, apps_host.second_run.output[-3000:]


def test_a_container_killed_outright_is_brought_back_by_systemd(host):
    before = containers(host)[f"bigdata-{APP}-1"]
    host.check_output(f"docker kill --signal KILL bigdata-{APP}-1")
    deadline = time.monotonic() + 60
    while True:
        now = containers(host).get(f"bigdata-{APP}-1")
        if now and now != before and health(host, ports(host)[1])[0] == 200:
            break
        assert time.monotonic() < deadline, "instance 1 did not come back healthy within 60 s"
        time.sleep(1)
    assert host.service(f"bigdata-app-{APP}@1").is_running


def test_a_broken_definition_fails_naming_the_app_before_the_host_is_touched(apps_host, host, tmp_path):
    before = containers(host)
    folder = write_app(tmp_path, lambda d: d.update(cpus="lots"))
    result = apps_host.deploy(DEPLOY, data={"pipeline_apps_dir": str(folder)}, log_name="pipeline-broken")
    assert result.returncode != 0
    assert "/bigdata/test-web" in result.output and "cpus" in result.output, result.output[-3000:]
    assert result.changed == 0 and containers(host) == before


def test_a_health_check_that_never_passes_fails_naming_the_app_and_the_previous_version_keeps_serving(
        apps_host, host, tmp_path):
    def unhealthy(definition):  # version 2 serves no /health
        definition["env"]["APP_VERSION"] = "2"
        definition["args"][-1] = definition["args"][-1].replace("/tmp/www/health", "/tmp/www/other")

    folder = write_app(tmp_path, unhealthy)
    started = time.monotonic()
    result = apps_host.deploy(DEPLOY, data={"pipeline_apps_dir": str(folder)}, log_name="pipeline-unhealthy")
    assert result.returncode != 0
    assert "/bigdata/test-web (test-web): instance 1: health check MESOS_HTTP /health" in result.output, \
        result.output[-3000:]
    assert "never passed; last: GET http://127.0.0.1:" in result.output and "rolled back" in result.output
    print(f"failed rollout with rollback: {time.monotonic() - started:.1f}s")
    for port in ports(host).values():
        assert health(host, port) == (200, "1")
    again = apps_host.deploy(DEPLOY, log_name="pipeline-after-rollback")
    assert again.returncode == 0 and again.changed == 0, again.output[-3000:]


def test_scaling_down_removes_the_surplus_instance_and_leaves_the_other_running(apps_host, host):
    before = containers(host)
    scaled = apps_host.deploy(DEPLOY, data={"pipeline_scale": json.dumps({APP: 1})}, log_name="pipeline-scale-1")
    assert scaled.returncode == 0, scaled.output[-3000:]
    assert containers(host) == {f"bigdata-{APP}-1": before[f"bigdata-{APP}-1"]}  # instance 1 not restarted
    assert not host.service(f"bigdata-app-{APP}@2").is_running
    assert not host.service(f"bigdata-app-{APP}@2").is_enabled
    assert apps_host.deploy(DEPLOY, data={"pipeline_scale": json.dumps({APP: 1})},
                            log_name="pipeline-scale-1-again").changed == 0
    back = apps_host.deploy(DEPLOY, log_name="pipeline-scale-2")
    assert back.returncode == 0 and sorted(containers(host)) == [f"bigdata-{APP}-1", f"bigdata-{APP}-2"]
