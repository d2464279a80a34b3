"""CONTRACT tests of submission (marathon/submit.py, submitter.py, compare.py, client.py): the
submitter against an HTTP stand-in, a small real HTTP server on 127.0.0.1 that
answers each endpoint with Marathon's own published example payloads
(../shared/marathon-api-v2/examples, as apps.raml and deployments.raml attach them
to the endpoints). These are not Marathon tests: no Marathon runs here. They prove
that the submitter sends what the API describes and reads what it answers.

How the stand-in answers (and only where it departs from a fixed example, why):

- GET /v2/apps/{id}: examples/app_list.json, the example apps.raml gives for this
  endpoint. Its app is the stored definition as Marathon would report it: the
  fields the definition sets, Marathon's status fields as published, collections
  the definition leaves out empty; like Marathon, it assigns a service port to a
  port definition of 0, adds `ipProtocol` to health checks and reports a
  two-element constraint with a third, empty element (as the example does).
  Absent: 404 with apps.raml's published message.
- POST /v2/apps: 201 with examples/app.json (its id replaced by the app's).
- PUT /v2/apps/{id}: examples/deployments_result.json with a new deployment id.
- GET /v2/deployments: examples/deployments.json, one entry per deployment in
  progress (its id and app replaced); a deployment lasts a few polls.
- DELETE /v2/deployments/{id}: examples/deployments_result.json (the rollback).
- Refusals: apps.raml's published 409 and 422 bodies.
"""
import copy
import json
import os
import subprocess
import sys
import threading
import uuid
from base64 import b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from marathon import apps as app_defs
from marathon.client import Marathon
from marathon.schema.derive import raml_dir
from marathon.compare import differences
from marathon.submitter import SubmissionError, Submitter
from shared.secrets import NAMES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = raml_dir() / "examples"
pytestmark = pytest.mark.skipif(not (EXAMPLES / "app.json").is_file(),
                                reason=f"Marathon's published examples are not at {EXAMPLES}")

# apps.raml's published refusal bodies
CONFLICT_409 = {"message": "An app with id [/existing_app] already exists."}
INVALID_422 = {"message": "Object is not valid",
               "details": [{"path": "/upgradeStrategy/minimumHealthCapacity", "errors": ["is greater than 1"]}]}
SECRETS = {name: name.lower()[8:32].ljust(24, "x") for name in NAMES}  # a distinct value each
USER, PASSWORD = "bigdata", "contract-password-0123456789"


def example(name):
    return json.loads((EXAMPLES / name).read_text())


class StandIn:
    """The HTTP stand-in: Marathon's published payloads over a real socket."""

    def __init__(self, *, polls_per_deployment=2, auth=(USER, PASSWORD), shape="app_list"):
        self.apps: dict[str, dict] = {}
        self.deployments: dict[str, dict] = {}   # id -> {"app": ..., "polls": n, "stuck": bool}
        self.requests: list[dict] = []
        self.refuse: dict[tuple[str, str], tuple[int, dict]] = {}  # (method, app id) -> answer
        self.stuck: set[str] = set()
        self.reverted: set[str] = set()  # apps whose deployments end with the previous definition back
        self.previous: dict[str, dict] = {}
        self.rolled_back: list[str] = []
        self.polls = polls_per_deployment
        self.auth = auth
        self.shape = shape
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                url = urlsplit(self.path)
                with stand_in.lock:
                    stand_in.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                              "body": body, "authorization": self.headers.get("Authorization")})
                    status, payload = stand_in.route(method, url.path, parse_qs(url.query), body,
                                                     self.headers.get("Authorization"))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def do_PUT(self):
                self._answer("PUT")

            def do_DELETE(self):
                self._answer("DELETE")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- what Marathon answers ---------------------------------------------------------
    def route(self, method, path, query, body, authorization):
        if self.auth and authorization != "Basic " + b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode():
            return 401, {"message": "Invalid username or password."}
        if path == "/v2/info" and method == "GET":
            return 200, example("info.json")
        if path == "/v2/deployments" and method == "GET":
            return 200, self._deployments()
        if path.startswith("/v2/deployments/") and method == "DELETE":
            deployment_id = path.rsplit("/", 1)[1]
            self.deployments.pop(deployment_id, None)
            self.rolled_back.append(deployment_id)
            return 200, self._deployment_result(None)
        if path == "/v2/apps" and method == "POST":
            app_id = body["id"]
            if (refusal := self.refuse.get(("POST", app_id))):
                return refusal
            self.apps[app_id] = copy.deepcopy(body)
            self._start_deployment(app_id)
            return 201, {**example("app.json"), "id": app_id}
        if path.startswith("/v2/apps/"):
            app_id = path[len("/v2/apps"):]
            if method == "GET":
                if app_id not in self.apps:
                    return 404, {"message": f"App '{app_id}' does not exist"}
                reported = self.reported(app_id)
                return 200, ({"apps": [reported]} if self.shape == "app_list" else {"app": reported})
            if method == "PUT":
                if (refusal := self.refuse.get(("PUT", app_id))):
                    return refusal
                self.previous[app_id] = copy.deepcopy(self.apps.get(app_id))
                if query.get("partialUpdate") == ["false"]:
                    self.apps[app_id] = copy.deepcopy(body)
                else:  # a partial update: only the fields sent change
                    self.apps.setdefault(app_id, {"id": app_id}).update(body)
                return 200, self._deployment_result(app_id)
        return 404, {"message": f"stand-in: no route for {method} {path}"}

    def reported(self, app_id):
        """The stored definition as Marathon reports it (see the module's docstring)."""
        stored = copy.deepcopy(self.apps[app_id])
        published = example("app_list.json")["apps"][0]
        reported = {}
        for key, value in published.items():
            if key in ("versionInfo", "version", "deployments") or key.startswith("tasks"):
                reported[key] = value
            elif isinstance(value, list):
                reported[key] = []
            elif isinstance(value, dict):
                reported[key] = {}
            elif key in ("cmd", "args", "user", "container", "acceptedResourceRoles"):
                reported[key] = None
            else:
                reported[key] = value  # Marathon's scalar defaults (backoffSeconds, ...)
        reported.update(stored)
        for i, port in enumerate(reported.get("portDefinitions") or []):
            port.setdefault("labels", {})
            if port.get("port") == 0:
                port["port"] = 10101 + i
        for check in reported.get("healthChecks") or []:
            check.setdefault("ipProtocol", "IPv4")
        reported["constraints"] = [c + [""] if len(c) == 2 else c for c in reported.get("constraints") or []]
        reported["deployments"] = [{"id": d} for d, info in self.deployments.items() if info["app"] == app_id]
        return reported

    def _start_deployment(self, app_id):
        deployment_id = str(uuid.uuid4())
        self.deployments[deployment_id] = {"app": app_id, "polls": self.polls, "stuck": app_id in self.stuck}
        return deployment_id

    def _deployment_result(self, app_id):
        result = example("deployments_result.json")
        result["deploymentId"] = self._start_deployment(app_id) if app_id else str(uuid.uuid4())
        return result

    def _deployments(self):
        listed = []
        template = example("deployments.json")[0]
        for deployment_id, info in list(self.deployments.items()):
            entry = copy.deepcopy(template)
            entry.update(id=deployment_id, affectedApps=[info["app"]], affectedPods=[])
            entry["steps"] = [{"actions": [{"action": "RestartApplication", "app": info["app"]}]}]
            entry["currentActions"] = [{**a, "app": info["app"]} for a in entry["currentActions"]]
            listed.append(entry)
            if not info["stuck"]:
                info["polls"] -= 1
                if info["polls"] <= 0:
                    del self.deployments[deployment_id]
                    if info["app"] in self.reverted and self.previous.get(info["app"]):
                        self.apps[info["app"]] = self.previous[info["app"]]
        return listed

    def sent(self, method, path_prefix="/v2/apps"):
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]


def prepared(names=None, **changes):
    apps = []
    for app in app_defs.load(names):
        if "tag" in changes:
            app = app_defs.with_image_tag(app, changes["tag"])
        if app.name in changes.get("scale", {}):
            app = app_defs.with_instances(app, changes["scale"][app.name])
        apps.append(app_defs.inline_secrets(app, SECRETS.get))
    return apps


def submitter(stand_in, *, timeout=30, password=PASSWORD, urls=None, lines=None):
    api = Marathon(urls or stand_in.url, user=USER, password=password, timeout=5)
    return Submitter(api, timeout=timeout, poll_interval=0.01, say=(lines.append if lines is not None else
                                                                     lambda line: None))


# --- create, compare, update, scale ---------------------------------------------------------
def test_contract_creates_every_absent_app_and_follows_its_deployment():
    with StandIn(polls_per_deployment=3) as marathon:
        lines = []
        results = submitter(marathon, lines=lines).submit(prepared())
        posted = [r["body"] for r in marathon.sent("POST")]
        assert posted == [a.definition for a in prepared()]  # as defined, in rollout order
        assert [r.action for r in results] == ["created"] * len(app_defs.SERVICES)
        for result in results:
            (deployment,) = result.deployments
            assert deployment.steps == example("deployments.json")[0]["totalSteps"]
            assert deployment.actions == [f"ScaleApplication {result.app}"]
        # followed until gone: each deployment was listed on 3 polls, then no more
        assert len(marathon.sent("GET", "/v2/deployments")) >= 5 * 3
        assert not marathon.deployments
        assert lines[-1].startswith("/bigdata/producer: created; deployment ")


def test_contract_resubmitting_the_same_definitions_changes_nothing():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared())
        before = len(marathon.requests)
        results = submitter(marathon).submit(prepared())
        assert [r.action for r in results] == ["unchanged"] * len(app_defs.SERVICES)
        assert {r["method"] for r in marathon.requests[before:]} == {"GET"}  # only looked


def test_contract_a_changed_definition_replaces_marathons_and_only_that_app():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared())
        before = len(marathon.requests)
        apps = prepared()
        apps[-1] = app_defs.with_env(app_defs.with_image_tag(apps[-1], "3f2a9c1e7b4d"),
                                     {"BIGDATA_PRODUCER_RATE": "5000"})
        results = submitter(marathon).submit(apps)
        assert [r.action for r in results] == ["unchanged"] * (len(app_defs.SERVICES) - 1) + ["updated"]
        assert results[-1].changed == ["container.docker.image", "env.BIGDATA_PRODUCER_RATE"]
        (put,) = [r for r in marathon.requests[before:] if r["method"] == "PUT"]
        assert put["path"] == "/v2/apps/bigdata/producer" and put["query"] == {"partialUpdate": ["false"]}
        assert put["body"] == apps[-1].definition
        assert marathon.apps["/bigdata/producer"]["container"]["docker"]["image"] == "bigdata/pipeline:3f2a9c1e7b4d"


def test_contract_a_field_removed_from_the_definition_is_removed_in_marathon():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared(["dashboard"]))
        (app,) = prepared(["dashboard"])
        definition = copy.deepcopy(app.definition)
        del definition["constraints"]
        (result,) = submitter(marathon).submit([app.replace(definition)])
        assert result.action == "updated" and result.changed == ["constraints"]
        assert "constraints" not in marathon.apps["/bigdata/dashboard"]


def test_contract_scaling_changes_only_the_instance_count():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared())
        before = len(marathon.requests)
        results = submitter(marathon).submit(prepared(scale={"storage-writer": 3}))
        writer = results[0]
        assert writer.action == "scaled" and writer.instances == (2, 3) and writer.deployments
        (put,) = [r for r in marathon.requests[before:] if r["method"] == "PUT"]
        assert put["path"] == "/v2/apps/bigdata/storage-writer"
        assert put["body"] == {"instances": 3} and put["query"] == {}  # a partial update: nothing else moves
        assert [r.action for r in results[1:]] == ["unchanged"] * (len(app_defs.SERVICES) - 1)


@pytest.mark.parametrize("shape", ["app_list", "app"])
def test_contract_reads_both_shapes_of_get_app(shape):
    """apps.raml publishes app_list.json for GET /v2/apps/{id}; Marathon itself wraps
    one app as {"app": ...}. Either way the app is found and compared."""
    with StandIn(shape=shape) as marathon:
        submitter(marathon).submit(prepared(["dashboard"]))
        (result,) = submitter(marathon).submit(prepared(["dashboard"]))
        assert result.action == "unchanged"


def test_contract_plan_says_what_would_change_and_sends_nothing():
    with StandIn() as marathon:
        results = submitter(marathon).submit(prepared(), plan=True)
        assert [r.action for r in results] == ["created (planned)"] * len(app_defs.SERVICES)
        assert not marathon.sent("POST") and not marathon.sent("PUT")


# --- refusals, failures, credentials ----------------------------------------------------------
@pytest.mark.parametrize("status, body", [(409, CONFLICT_409), (422, INVALID_422)], ids=["409", "422"])
def test_contract_a_refused_deployment_leaves_the_running_version_and_names_the_app(status, body):
    with StandIn() as marathon:
        submitter(marathon).submit(prepared())
        running = copy.deepcopy(marathon.apps)
        marathon.refuse[("PUT", "/bigdata/redis-publisher")] = (status, body)
        apps = [app_defs.with_image_tag(a, "newer") for a in prepared()]
        with pytest.raises(SubmissionError) as failure:
            submitter(marathon).submit(apps)
        message = str(failure.value)
        assert message.startswith("marathon/apps/redis-publisher.json (/bigdata/redis-publisher): ")
        assert f"HTTP {status} on PUT /v2/apps/bigdata/redis-publisher: {body['message']}" in message
        assert "nothing was changed: the running version stays in place" in message
        if status == 422:
            assert "/upgradeStrategy/minimumHealthCapacity: is greater than 1" in message
        assert marathon.apps["/bigdata/redis-publisher"] == running["/bigdata/redis-publisher"]
        # the run stopped there: the apps after it were not touched
        assert marathon.apps["/bigdata/producer"] == running["/bigdata/producer"]
        assert marathon.apps["/bigdata/storage-writer"]["container"]["docker"]["image"] == "bigdata/pipeline:newer"


def test_contract_a_refused_creation_names_the_app():
    with StandIn() as marathon:
        marathon.refuse[("POST", "/bigdata/storage-writer")] = (409, CONFLICT_409)
        with pytest.raises(SubmissionError, match=r"^marathon/apps/storage-writer\.json \(/bigdata/storage-writer\): "
                                                  r"Marathon refused the deployment \(conflict"):
            submitter(marathon).submit(prepared())
        assert not marathon.apps


def test_contract_a_deployment_that_never_finishes_is_rolled_back_and_named():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared())
        marathon.stuck.add("/bigdata/dashboard")
        apps = prepared(["dashboard"], tag="broken")
        with pytest.raises(SubmissionError) as failure:
            submitter(marathon, timeout=0.3).submit(apps)
        message = str(failure.value)
        assert message.startswith("marathon/apps/dashboard.json (/bigdata/dashboard): not deployed within 0.3s")
        (deleted,) = marathon.sent("DELETE", "/v2/deployments/")
        stuck_id = deleted["path"].rsplit("/", 1)[1]
        assert f"{stuck_id} rolled back (deployment " in message and stuck_id in marathon.rolled_back
        assert "ScaleApplication /bigdata/dashboard" in message  # where it was stuck


def test_contract_a_deployment_that_ends_without_the_definition_is_not_reported_as_done():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared(["producer"]))
        marathon.reverted.add("/bigdata/producer")  # e.g. an operator rolled it back meanwhile
        with pytest.raises(SubmissionError, match=r"^marathon/apps/producer\.json \(/bigdata/producer\): the "
                                                  r"deployment ended, but Marathon's app still differs in "
                                                  r"container\.docker\.image"):
            submitter(marathon).submit(prepared(["producer"], tag="newer"))


def test_contract_basic_auth_on_every_request_and_a_refusal_names_the_app():
    with StandIn() as marathon:
        submitter(marathon).submit(prepared(["producer"]))
        expected = "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        assert {r["authorization"] for r in marathon.requests} == {expected}
        with pytest.raises(SubmissionError, match=r"producer\.json \(/bigdata/producer\): Marathon refused the "
                                                  r"credentials .*HTTP 401"):
            submitter(marathon, password="wrong-password-000000").submit(prepared(["producer"]))


def test_contract_tries_each_marathon_in_turn():
    with StandIn() as marathon:
        closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        dead_url = f"http://127.0.0.1:{closed.server_address[1]}"
        closed.server_close()  # nothing listens there any more
        (result,) = submitter(marathon, urls=f"{dead_url},{marathon.url}").submit(prepared(["producer"]))
        assert result.action == "created"


def test_contract_command_line_end_to_end():
    """`python -m marathon.submit` from the checkout, as an operator runs it."""
    env = {**os.environ, **SECRETS, "BIGDATA_MARATHON_PASSWORD": PASSWORD}
    with StandIn() as marathon:
        command = [sys.executable, "-m", "marathon.submit", "--url", marathon.url, "--image-tag", "abc123",
                   "--env", "BIGDATA_KAFKA_BOOTSTRAP=k1:9092,k2:9092", "--poll-interval", "0.02",
                   "--scale", "storage-writer=3"]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert [line.split(":")[0] for line in done.stdout.splitlines()] == \
            [f"/bigdata/{name}" for name in app_defs.SERVICES]
        writer = marathon.apps["/bigdata/storage-writer"]
        assert writer["instances"] == 3 and writer["container"]["docker"]["image"] == "bigdata/pipeline:abc123"
        assert writer["env"]["BIGDATA_KAFKA_BOOTSTRAP"] == "k1:9092,k2:9092"
        assert writer["env"]["BIGDATA_CASSANDRA_PASSWORD"] == SECRETS["BIGDATA_CASSANDRA_WRITER_PASSWORD"]
        assert "secrets" not in writer  # --secrets inline, the default
        again = subprocess.run(command[:-2] + ["--secrets", "plugin", "--only", "producer"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "/bigdata/producer: updated (env.BIGDATA_KAFKA_PASSWORD, env.BIGDATA_PRODUCER_TOKEN, secrets)" \
            in again.stdout
        assert marathon.apps["/bigdata/producer"]["env"]["BIGDATA_KAFKA_PASSWORD"] == {"secret": "kafka-password"}
        bad = subprocess.run(command[:5] + ["--scale", "storage-writer=many"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "instances must be a whole number" in bad.stderr


def test_contract_image_tags_per_repository_on_the_command_line():
    env = {**os.environ, **SECRETS, "BIGDATA_MARATHON_PASSWORD": PASSWORD}
    with StandIn() as marathon:
        command = [sys.executable, "-m", "marathon.submit", "--url", marathon.url, "--poll-interval", "0.02",
                   "--image-tag", "abc123", "--image", "bigdata/other=zzz", "--only", "producer"]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert marathon.apps["/bigdata/producer"]["container"]["docker"]["image"] == "bigdata/pipeline:abc123"
        repository = app_defs.PROJECT_IMAGE.match(app_defs.load(["producer"])[0].definition["container"]["docker"]
                                                  ["image"])[1]
        done = subprocess.run(command + ["--image", f"{repository}=def456"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert marathon.apps["/bigdata/producer"]["container"]["docker"]["image"] == f"{repository}:def456"


def test_contract_the_pipeline_deploy_submits_with_the_inventorys_site_env_and_image_tags(tmp_path):
    """deploys/apps.py on an inventory with a `marathon` group submits from the control
    machine, with the env computed from the inventory (the one function both paths use)."""
    with StandIn() as marathon:
        port = int(marathon.url.rsplit(":", 1)[1])
        inventory = tmp_path / "with_marathon.py"
        inventory.write_text(
            "local = [('@local', {'address': '127.0.0.1', 'marathon_http_port': %d, "
            "'marathon_http_password': %r, 'producer_token': %r, 'kafka_port': 9093})]\n"
            "marathon = kafka = cassandra = redis = spark_master = local\n"
            % (port, PASSWORD, SECRETS["BIGDATA_PRODUCER_TOKEN"]))
        env = {**os.environ, **SECRETS, "BIGDATA_SECRETS_FILE": os.devnull}
        done = subprocess.run([sys.executable, "-m", "pyinfra", "-y", str(inventory), "deploys/apps.py",
                               "--data", 'pipeline_image_tags={"bigdata/pipeline": "abc123"}',
                               "--data", 'pipeline_scale={"storage-writer": 3}'],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert sorted(marathon.apps) == sorted(a.id for a in app_defs.load())
        writer = marathon.apps["/bigdata/storage-writer"]
        assert writer["instances"] == 3
        assert writer["env"]["BIGDATA_KAFKA_BOOTSTRAP"] == "127.0.0.1:9093"
        assert writer["env"]["BIGDATA_CASSANDRA_HOSTS"] == "127.0.0.1"
        assert writer["env"]["BIGDATA_CASSANDRA_PASSWORD"] == SECRETS["BIGDATA_CASSANDRA_WRITER_PASSWORD"]
        assert marathon.apps["/bigdata/dashboard"]["env"]["BIGDATA_REDIS_HOST"] == "127.0.0.1"
        assert marathon.apps["/bigdata/stream-processor"]["env"]["BIGDATA_SPARK_MASTER"] == "spark://127.0.0.1:7077"
        for app in marathon.apps.values():
            image = app["container"]["docker"]["image"]
            assert image == "bigdata/pipeline:abc123" or not image.startswith("bigdata/pipeline:")


# --- the comparison on its own -------------------------------------------------------
def test_differences_look_only_at_what_the_definition_sets():
    desired = {"id": "/a", "cpus": 1, "portDefinitions": [{"port": 0, "name": "http"}],
               "constraints": [["hostname", "UNIQUE"]], "healthChecks": [{"path": "/health"}], "instances": 2}
    reported = {"id": "/a", "cpus": 1.0, "mem": 128, "instances": 5, "tasksRunning": 5,
                "portDefinitions": [{"port": 10101, "name": "http", "labels": {}}],
                "constraints": [["hostname", "UNIQUE", ""]],
                "healthChecks": [{"path": "/health", "ipProtocol": "IPv4"}],
                "env": {}, "labels": {}}
    assert differences(desired, reported) == []
    assert differences({**desired, "cpus": 2}, reported) == ["cpus"]
    assert differences({**desired, "portDefinitions": [{"port": 8050, "name": "http"}]}, reported) == \
        ["portDefinitions[0].port"]
    assert differences(desired, {**reported, "env": {"LEFTOVER": "x"}}) == ["env"]
    assert differences(desired, {**reported, "healthChecks": []}) == ["healthChecks"]
