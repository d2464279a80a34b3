"""marathon/swarm.py: the shipped Marathon definitions as a Docker stack file (Compose
3.8, host network, external secrets); each field Swarm cannot honour is refused
naming the field, all of an app's problems at once; the output is deterministic and
carries its own hash; a secret's value never appears in it."""
import copy
import json

import pytest

from marathon import apps, swarm
from marathon.schema import AppDefinitionError
from shared.secrets import NAMES

# What the deploy passes: secret source -> the external Swarm secret's (versioned) name.
SECRETS = {source: f"bigdata-{source.lower().replace('_', '-')}-v3" for source in NAMES}


def user(name):
    return {"bigdata": "998:998"}[name]


def translate(name, change=None, **options):
    app = apps.load([name])[0]
    if change:
        definition = copy.deepcopy(app.definition)
        change(definition)
        app = app.replace(definition)
    return swarm.service(app, secrets=options.pop("secrets", SECRETS), user=options.pop("user", user), **options)


@pytest.fixture(scope="module")
def services():
    return {app.name: swarm.service(app, secrets=SECRETS, user=user) for app in apps.load()}


def test_every_shipped_app_translates(services):
    assert list(services) == list(apps.SERVICES)
    for name, service in services.items():
        assert service["networks"] == ["hostnet"], name
        assert service["image"].startswith("bigdata/"), name
        assert service["command"] == ["python", "-m", f"services.{name.replace('-', '_')}"], name
        assert service["labels"]["io.bigdata.app"] == f"/bigdata/{name}", name
        assert service["deploy"]["labels"][swarm.SPEC_LABEL] == swarm.spec_hash(service), name
        assert len(service["labels"][swarm.TASK_LABEL]) == 16, name


def test_storage_writer_in_full(services):
    writer = services["storage-writer"]
    labels = {"io.bigdata.service": "storage-writer", "io.bigdata.part-of": "pipeline",
              "io.bigdata.app": "/bigdata/storage-writer"}
    assert writer == {
        "image": "bigdata/pipeline:latest",
        "command": ["python", "-m", "services.storage_writer"],
        "environment": {
            "BIGDATA_CASSANDRA_PASSWORD_FILE": "/run/secrets/cassandra-password",
            "BIGDATA_CASSANDRA_USER": "storage_writer",
            "BIGDATA_KAFKA_PASSWORD_FILE": "/run/secrets/kafka-password",
            "BIGDATA_KAFKA_USER": "storage-writer",
            "PORT0": "0",
            "PORTS": "0",
        },
        "secrets": [
            {"source": "bigdata-bigdata-cassandra-writer-password-v3", "target": "cassandra-password", "mode": 0o444},
            {"source": "bigdata-bigdata-kafka-writer-password-v3", "target": "kafka-password", "mode": 0o444},
        ],
        "networks": ["hostnet"],
        "healthcheck": {"test": ["CMD", "bigdata-healthcheck", "/health"], "interval": "10s", "timeout": "5s",
                        "retries": 6, "start_period": "95s"},
        "stop_grace_period": "60s",
        "labels": {**labels, swarm.TASK_LABEL: writer["labels"][swarm.TASK_LABEL]},
        "deploy": {
            "mode": "replicated",
            "replicas": 2,
            "resources": {"limits": {"cpus": "1", "memory": "512M"}},
            "restart_policy": {"condition": "any", "delay": "5s"},
            # minimumHealthCapacity 0.5 of 2, no over-capacity: one stopped at a time; each new
            # one, once healthy, watched for 6 x 10 s checks + 10 s
            "update_config": {"parallelism": 1, "order": "stop-first", "failure_action": "rollback",
                              "monitor": "70s", "max_failure_ratio": 0},
            "rollback_config": {"parallelism": 1, "order": "stop-first", "failure_action": "pause"},
            "labels": {**labels, swarm.SPEC_LABEL: swarm.spec_hash(writer)},
        },
    }


def test_dashboard_binds_its_fixed_port_once_per_node(services):
    dashboard = services["dashboard"]
    assert dashboard["environment"]["PORT0"] == "8050" and dashboard["environment"]["PORTS"] == "8050"
    assert dashboard["deploy"]["placement"] == {"max_replicas_per_node": 1}
    assert dashboard["deploy"]["update_config"]["order"] == "stop-first"


def test_a_fixed_port_alone_means_one_task_per_node():
    service = translate("dashboard", lambda d: d.pop("constraints"))
    assert service["deploy"]["placement"] == {"max_replicas_per_node": 1}


def test_stream_processor_runs_as_the_host_account_with_its_checkpoint(services):
    processor = services["stream-processor"]
    assert processor["user"] == "998:998"
    assert processor["image"] == "bigdata/spark-job:latest"
    assert processor["volumes"] == [{"type": "bind", "source": "/var/lib/bigdata/spark/checkpoints",
                                     "target": "/var/lib/bigdata/spark/checkpoints", "read_only": False}]
    assert processor["healthcheck"]["start_period"] == "615s"
    assert processor["deploy"]["resources"]["limits"] == {"cpus": "1", "memory": "1536M"}
    assert "user" not in services["producer"]


def test_live_lane_starts_its_replacement_first(services):
    for name in ("live-lane", "redis-publisher"):
        update = services[name]["deploy"]["update_config"]
        assert (update["order"], update["parallelism"]) == ("start-first", 1), name
        assert services[name]["deploy"]["rollback_config"]["order"] == "start-first", name
        assert "placement" not in services[name]["deploy"], name


def test_upgrade_parallelism_follows_the_capacities():
    def strategy(instances, minimum, over):
        def change(d):
            d.pop("constraints", None)
            d["instances"] = instances
            d["upgradeStrategy"] = {"minimumHealthCapacity": minimum, "maximumOverCapacity": over}
        update = translate("producer", change)["deploy"]["update_config"]
        return update["order"], update["parallelism"]

    assert strategy(10, 0.5, 0) == ("stop-first", 5)
    assert strategy(10, 0.3, 0) == ("stop-first", 7)
    assert strategy(10, 0, 0.3) == ("start-first", 3)
    assert strategy(3, 0.9, 0) == ("stop-first", 1)
    assert strategy(3, 1, 0.2) == ("start-first", 1)


def test_reservations_repeat_the_limits():
    deploy = translate("producer", reservations=True)["deploy"]
    assert deploy["resources"] == {"limits": {"cpus": "0.5", "memory": "256M"},
                                   "reservations": {"cpus": "0.5", "memory": "256M"}}


def test_command_health_check_and_no_health_check():
    command = translate("producer", lambda d: d["healthChecks"].__setitem__(0, {
        "protocol": "COMMAND", "command": {"value": "test -e /tmp/ok"}}))
    # Marathon's defaults: grace 300, interval 60, timeout 20, 3 failures, delay 15
    assert command["healthcheck"] == {"test": ["CMD-SHELL", "test -e /tmp/ok"], "interval": "60s",
                                      "timeout": "20s", "retries": 3, "start_period": "315s"}
    assert command["deploy"]["update_config"]["monitor"] == f"{60 * 3 + 10}s"
    # a command check needs no checker in the image
    foreign = translate("producer", lambda d: (d["container"]["docker"].__setitem__("image", "redis:7"),
                                               d["healthChecks"].__setitem__(0, {"protocol": "COMMAND",
                                                                                 "command": {"value": "true"}})))
    assert foreign["healthcheck"]["test"] == ["CMD-SHELL", "true"]
    none = translate("producer", lambda d: d.pop("healthChecks"))
    assert "healthcheck" not in none and none["deploy"]["update_config"]["monitor"] == "30s"


def test_constraints_on_hostname_and_attributes():
    service = translate("producer", lambda d: d.__setitem__("constraints", [
        ["hostname", "CLUSTER", "node-2"], ["rack", "IS", "r1"], ["zone", "CLUSTER", "a"]]))
    assert service["deploy"]["placement"] == {"constraints": ["node.hostname == node-2", "node.labels.rack == r1",
                                                              "node.labels.zone == a"]}


# --- the stack file and its hash -------------------------------------------------------
def test_stack_declares_the_host_network_and_external_secrets(services):
    document = swarm.stack(services)
    assert document["version"] == "3.8"
    assert document["services"] == services
    assert document["networks"] == {"hostnet": {"external": True, "name": "host"}}
    mounted = {SECRETS[source] for app in apps.load() for source in apps.secret_sources(app).values()}
    assert document["secrets"] == {name: {"external": True} for name in sorted(mounted)}
    assert SECRETS["BIGDATA_CASSANDRA_PASSWORD"] not in mounted  # no service holds a superuser's


def test_stack_declares_only_the_secrets_its_services_mount(services):
    document = swarm.stack({"producer": services["producer"]})
    assert document["secrets"] == {SECRETS[source]: {"external": True}
                                   for source in ("BIGDATA_KAFKA_PRODUCER_PASSWORD", "BIGDATA_PRODUCER_TOKEN")}


def test_spec_hash_is_deterministic_ignores_its_label_and_follows_the_image():
    first, second = translate("storage-writer"), translate("storage-writer")
    assert first == second
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    digest = first["deploy"]["labels"][swarm.SPEC_LABEL]
    assert len(digest) == 16 and int(digest, 16) >= 0
    without = copy.deepcopy(first)
    del without["deploy"]["labels"][swarm.SPEC_LABEL]
    assert swarm.spec_hash(without) == swarm.spec_hash(first) == digest
    changed = copy.deepcopy(first)
    changed["deploy"]["labels"][swarm.SPEC_LABEL] = "something else"
    assert swarm.spec_hash(changed) == digest
    app = apps.with_image_tag(apps.load(["storage-writer"])[0], "3f2a9c1e7b4d")
    retagged = swarm.service(app, secrets=SECRETS)
    assert retagged["image"] == "bigdata/pipeline:3f2a9c1e7b4d"
    assert retagged["deploy"]["labels"][swarm.SPEC_LABEL] != digest


def test_the_task_digest_changes_with_the_tasks_only():
    def task(change=None, **options):
        return translate("storage-writer", change, **options)["labels"][swarm.TASK_LABEL]

    unchanged = task()
    assert task(lambda d: d.update(instances=3)) == unchanged  # scaling replaces no task
    assert task(lambda d: d["upgradeStrategy"].update(minimumHealthCapacity=0)) == unchanged
    assert task(lambda d: d["labels"].update(team="data")) != unchanged  # container labels are the task's
    assert task(lambda d: d["container"]["docker"].update(image="bigdata/pipeline:v2")) != unchanged
    assert task(lambda d: d.update(mem=1024)) != unchanged
    assert task(secrets={**SECRETS, "BIGDATA_CASSANDRA_WRITER_PASSWORD": "bigdata-cassandra-writer-password-v4"}) != \
        unchanged


def test_a_renamed_secret_changes_the_hash():
    renamed = {**SECRETS, "BIGDATA_CASSANDRA_WRITER_PASSWORD": "bigdata-cassandra-writer-password-v4"}
    assert translate("storage-writer", secrets=renamed)["deploy"]["labels"][swarm.SPEC_LABEL] != \
        translate("storage-writer")["deploy"]["labels"][swarm.SPEC_LABEL]


def test_a_secret_value_never_appears(monkeypatch):
    values = {name: f"{name.lower()}-hunter2-value" for name in NAMES}
    for source, value in values.items():  # where inline_secrets() would find them
        monkeypatch.setenv(source, value)
    translated = {app.name: swarm.service(app, secrets=SECRETS, user=user) for app in apps.load()}
    dumped = json.dumps(swarm.stack(translated))
    for value in values.values():
        assert value not in dumped
    for app in apps.load():  # each secret it mounts is named, never its value or variable
        for source in apps.secret_sources(app).values():
            assert SECRETS[source] in dumped
            assert f'"{source}"' not in dumped  # only <source>_FILE, never the variable itself


# --- refusals: each names its field ----------------------------------------------------
def _set(*path_and_value):
    *path, value = path_and_value

    def change(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value
    return change


REFUSED = {
    "not a docker container": (_set("container", "type", "MESOS"), "container.type"),
    "force pull": (_set("container", "docker", "forcePullImage", True), "container.docker.forcePullImage"),
    "privileged": (_set("container", "docker", "privileged", True), "container.docker.privileged"),
    "docker parameters": (_set("container", "docker", "parameters", [{"key": "cap-add", "value": "ALL"}]),
                          "container.docker.parameters"),
    "port mappings": (_set("container", "portMappings", [{"containerPort": 80}]), "container.portMappings"),
    "persistent volume": (_set("container", "volumes", [{"containerPath": "data", "mode": "RW",
                                                         "persistent": {"size": 10}}]), "container.volumes[0]"),
    "external volume": (_set("container", "volumes", [{"containerPath": "/d", "mode": "RW",
                                                       "external": {"name": "x", "provider": "dvdi"}}]),
                        "container.volumes[0]"),
    "shell command": (_set("cmd", "python -m services.producer"), "cmd"),
    "secret without a swarm secret": (_set("secrets", "kafka-password", "source", "BIGDATA_OTHER"),
                                      "env.BIGDATA_KAFKA_PASSWORD"),
    "bridge network": (_set("networks", [{"mode": "container/bridge"}]), "networks"),
    "two networks": (_set("networks", [{"mode": "host"}, {"mode": "host"}]), "networks"),
    "two ports": (_set("portDefinitions", [{"port": 0}, {"port": 0}]), "portDefinitions"),
    "udp port": (_set("portDefinitions", 0, "protocol", "udp"), "portDefinitions[0].protocol"),
    "disk": (_set("disk", 1024), "disk"),
    "gpus": (_set("gpus", 1), "gpus"),
    "user without a resolver": (_set("user", "bigdata"), "user"),
    "two health checks": (lambda d: d["healthChecks"].append(dict(d["healthChecks"][0])), "healthChecks"),
    "tcp health check": (_set("healthChecks", 0, "protocol", "TCP"), "healthChecks[0].protocol"),
    "mesos tcp health check": (_set("healthChecks", 0, "protocol", "MESOS_TCP"), "healthChecks[0].protocol"),
    "https health check": (_set("healthChecks", 0, "protocol", "HTTPS"), "healthChecks[0].protocol"),
    "mesos https health check": (_set("healthChecks", 0, "protocol", "MESOS_HTTPS"), "healthChecks[0].protocol"),
    "health check on port index 1": (_set("healthChecks", 0, "portIndex", 1), "healthChecks[0].portIndex"),
    "health check on a fixed port": (_set("healthChecks", 0, "port", 8080), "healthChecks[0].port"),
    "health check ignoring 1xx": (_set("healthChecks", 0, "ignoreHttp1xx", True), "healthChecks[0].ignoreHttp1xx"),
    "http health check in a foreign image": (_set("container", "docker", "image", "redis:7"), "healthChecks[0]"),
    "no room for a rolling update": (_set("upgradeStrategy", {"minimumHealthCapacity": 1,
                                                              "maximumOverCapacity": 0}), "upgradeStrategy"),
    "start-first with hostname unique": (lambda d: d.update(constraints=[["hostname", "UNIQUE"]],
                                                            upgradeStrategy={"minimumHealthCapacity": 0.5,
                                                                             "maximumOverCapacity": 1}),
                                         "upgradeStrategy.maximumOverCapacity"),
    "start-first with a fixed port": (lambda d: d.update(portDefinitions=[{"port": 8050}],
                                                         upgradeStrategy={"minimumHealthCapacity": 1,
                                                                          "maximumOverCapacity": 1}),
                                      "upgradeStrategy.maximumOverCapacity"),
    "health check every 0 s": (_set("healthChecks", 0, "intervalSeconds", 0), "healthChecks[0].intervalSeconds"),
    "hostname like": (_set("constraints", [["hostname", "LIKE", "node-.*"]]), "constraints[0]"),
    "attribute unlike": (_set("constraints", [["rack", "UNLIKE", "r1"]]), "constraints[0]"),
    "group by": (_set("constraints", [["rack", "GROUP_BY", "2"]]), "constraints[0]"),
    "max per": (_set("constraints", [["hostname", "MAX_PER", "2"]]), "constraints[0]"),
    "unique attribute": (_set("constraints", [["rack", "UNIQUE"]]), "constraints[0]"),
    "fetch": (_set("fetch", [{"uri": "https://example.org/x.tgz"}]), "fetch"),
    "uris": (_set("uris", ["https://example.org/x.tgz"]), "uris"),
    "dependencies": (_set("dependencies", ["/bigdata/storage-writer"]), "dependencies"),
    "accepted resource roles": (_set("acceptedResourceRoles", ["*"]), "acceptedResourceRoles"),
    "readiness checks": (_set("readinessChecks", [{"name": "ready"}]), "readinessChecks"),
    "tty": (_set("tty", True), "tty"),
    "role": (_set("role", "bigdata"), "role"),
}


@pytest.mark.parametrize("change, field", REFUSED.values(), ids=REFUSED.keys())
def test_refused_naming_the_field(change, field):
    app = apps.load(["producer"])[0]
    definition = copy.deepcopy(app.definition)
    change(definition)
    with pytest.raises(AppDefinitionError) as failure:
        swarm.service(app.replace(definition), secrets=SECRETS)
    assert str(failure.value).startswith(f"{app.label}: "), failure.value
    assert len(failure.value.problems) == 1 and failure.value.problems[0].startswith(f"{field}:"), \
        failure.value.problems


def test_a_user_unknown_on_the_nodes_is_refused():
    with pytest.raises(AppDefinitionError, match=r"user: 'bigdata' has no uid:gid on the nodes"):
        translate("stream-processor", user={}.get)


def test_constraint_refusal_says_what_is_translated():
    with pytest.raises(AppDefinitionError) as failure:
        translate("producer", _set("constraints", [["hostname", "LIKE", "node-.*"]]))
    assert failure.value.problems == [
        "constraints[0]: hostname LIKE node-.* is not expressible on Swarm "
        "(translated: hostname UNIQUE, hostname/attribute CLUSTER or IS with a value)"]


def test_every_problem_of_an_app_is_reported_at_once():
    def change(d):
        d["container"]["docker"]["forcePullImage"] = True
        d["networks"] = [{"mode": "container/bridge"}]
        d["healthChecks"][0]["protocol"] = "TCP"
        d["constraints"] = [["hostname", "LIKE", "node-.*"]]
        d["fetch"] = [{"uri": "https://example.org/x.tgz"}]
        d["user"] = "bigdata"

    with pytest.raises(AppDefinitionError) as failure:
        translate("producer", change, user=None)
    fields = [problem.split(":", 1)[0] for problem in failure.value.problems]
    assert sorted(fields) == sorted(["fetch", "container.docker.forcePullImage", "networks",
                                     "healthChecks[0].protocol", "constraints[0]", "user"])
    assert "6 problems" in str(failure.value)


def test_no_networks_is_marathons_default_host():
    assert translate("producer", lambda d: d.pop("networks"))["networks"] == ["hostnet"]


def test_fields_left_to_the_engine_are_accepted():
    service = translate("producer", lambda d: d.update(killSelection="OLDEST_FIRST", requirePorts=True))
    assert service["deploy"]["restart_policy"] == {"condition": "any", "delay": "5s"}  # backoffFactor not used


def test_a_dollar_in_args_or_env_reaches_the_container_as_it_is():
    """docker stack deploy interpolates $VAR from its own environment; the stack file escapes it."""
    service = translate("producer", lambda d: (d.__setitem__("args", ["sh", "-c", "exec serve \"$PORT0\""]),
                                               d["env"].__setitem__("GREETING", "cost: $5")))
    written = swarm.stack({"producer": service})["services"]["producer"]
    assert written["command"] == ["sh", "-c", "exec serve \"$$PORT0\""]
    assert written["environment"]["GREETING"] == "cost: $$5"
    assert service["command"][-1] == "exec serve \"$PORT0\"", "the service itself (and its digest) keeps the value"


@pytest.mark.parametrize("column, counts", [("2/3", (2, 3)), ("1/1 (max 1 per node)", (1, 1)),
                                            ("0/0", (0, 0)), ("12/12", (12, 12))])
def test_replicas_are_read_as_docker_service_ls_says_them(column, counts):
    assert swarm.parse_replicas(column) == counts
