"""The one-node runtime's pieces that need no host: port assignment (deploys/pipeline)
and the app runner's docker command and restart decisions (deploys/pipeline/app_runner.py).
The runtime itself is tested on a rig host: tests/cluster/test_pipeline_runtime.py."""
import json
import pwd

import pytest
from pyinfra.api.exceptions import DeployError

from deploys.pipeline import app_runner, assign_ports
from marathon import apps as app_defs

RANGE = (31000, 32000)


def apps(**instances):
    loaded = app_defs.load()
    return [app_defs.with_instances(a, instances.get(a.name, a.definition["instances"])) for a in loaded]


def test_ports_fixed_as_defined_dynamic_in_the_range_distinct_and_stable():
    assigned = assign_ports(apps(), RANGE)
    assert assigned["dashboard"] == {"1": [8050]}
    dynamic = [p for name, by_instance in assigned.items() if name != "dashboard"
               for ports in by_instance.values() for p in ports]
    assert all(RANGE[0] <= p < RANGE[1] for p in dynamic) and len(set(dynamic)) == len(dynamic)
    assert assign_ports(apps(), RANGE) == assigned
    scaled = assign_ports(apps(**{"storage-writer": 4}), RANGE)
    assert scaled["storage-writer"]["1"] == assigned["storage-writer"]["1"]  # scaling moves no running instance
    assert len(scaled["storage-writer"]) == 4


def test_a_fixed_port_with_several_instances_is_refused_naming_the_app():
    with pytest.raises(DeployError, match=r"dashboard.*2 instances of a fixed port \(\[8050\]\)"):
        assign_ports(apps(dashboard=2), RANGE)


def test_the_docker_command_carries_the_definitions_resources_env_volumes_labels_and_port(tmp_path):
    definition = app_defs.load(["stream-processor"])[0].definition
    assert definition["user"] == "bigdata"  # writes its checkpoint to a host directory of the service user's
    definition = {**definition, "args": ["python", "-m", "x", "--port", "$PORT0"], "env": {
        **definition["env"], "PLAIN": "value"}, "user": "nobody"}  # an account this machine has
    command = app_runner.docker_command("stream-processor", 2, definition, [31555], "sha256:abc",
                                        tmp_path / "current.env")
    flags = " ".join(command)
    assert command[:2] == ["docker", "run"] and "--rm" in command
    assert "--name bigdata-stream-processor-2 --network host" in flags
    assert f"--cpus {definition['cpus']} --memory {definition['mem']}m" in flags
    assert f"--env-file {tmp_path / 'current.env'}" in flags and "--env PLAIN=value" in flags
    assert "--env PORT0=31555" in flags and "--env MARATHON_APP_ID=/bigdata/stream-processor" in flags
    assert "BIGDATA_KAFKA_CLIENT_PASSWORD" not in flags  # secrets only through the 0600 env file
    assert "--volume /var/lib/bigdata/spark/checkpoints:/var/lib/bigdata/spark/checkpoints:rw" in flags
    assert "--label io.bigdata.service=stream-processor" in flags
    nobody = pwd.getpwnam("nobody")
    assert f"--user {nobody.pw_uid}:{nobody.pw_gid}" in flags
    assert command[-6:] == ["sha256:abc", "python", "-m", "x", "--port", "31555"]


def version(instances=2, env=b"A=1\n", image="sha256:1", ports=None, **changes):
    definition = {"id": "/bigdata/x", "instances": instances, "args": ["a"], **changes}
    ports = ports or {str(i): [31000 + i] for i in range(1, instances + 1)}
    return {"json": json.dumps(definition).encode(), "env": env, "ports": json.dumps(ports).encode()}, image


def test_restarts_a_new_definition_secret_or_image_everywhere_but_a_scale_change_nowhere():
    assert app_runner.restarts_needed(None, version()) is True
    assert app_runner.restarts_needed(version(), version(args=["b"])) is True
    assert app_runner.restarts_needed(version(), version(env=b"A=2\n")) is True
    assert app_runner.restarts_needed(version(), version(image="sha256:2")) is True
    assert app_runner.restarts_needed(version(), version(instances=3)) == set()
    assert app_runner.restarts_needed(version(), version(ports={"1": [31001], "2": [31999]})) == {2}


def test_the_fingerprint_changes_with_each_part_of_a_version():
    prints = {app_runner.fingerprint(*v) for v in (version(), version(env=b"B=1\n"), version(image="sha256:2"),
                                                   version(instances=1))}
    assert len(prints) == 4 and app_runner.fingerprint(*version()) == app_runner.fingerprint(*version())


def test_settings_refuse_a_privileged_port_range_and_negative_instances():
    from pydantic import ValidationError

    from deploys.pipeline import Settings
    with pytest.raises(ValidationError, match="pipeline_port_range: 80-90"):
        Settings(pipeline_port_range=(80, 90))
    with pytest.raises(ValidationError, match="pipeline_scale: producer: -1"):
        Settings(pipeline_scale={"producer": -1})


@pytest.mark.parametrize("status, body, expected", [
    (200, b'{"status": "running", "lag": 3}', {"http_status": 200, "status": "running", "lag": 3}),
    (503, b'{"status": "degraded", "problem": "redis down"}',
     {"http_status": 503, "status": "degraded", "problem": "redis down"}),
    (200, b"1\n", {"http_status": 200}),          # JSON, but not an object (a test app's /health)
    (200, b"<html>ok</html>", {"http_status": 200}),
])
def test_status_reads_whatever_a_health_endpoint_answers(status, body, expected):
    """The runner's status (./bigdata status, and the deploy's no-change check) must never fail on an answer."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        assert app_runner.health_body(f"http://127.0.0.1:{server.server_port}/health") == expected
    finally:
        server.server_close()


def test_status_of_an_endpoint_that_does_not_answer_says_why():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answer = app_runner.health_body(f"http://127.0.0.1:{port}/health")
    assert answer["http_status"] is None and "refused" in answer["error"].lower()
