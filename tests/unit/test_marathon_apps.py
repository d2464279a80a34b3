"""marathon/apps: one definition per service, each valid against the schema derived
from Marathon's RAML and against the platform's profile; broken definitions fail
naming the app; what a run changes (tag, site env, scale, secrets) is applied the
same way for every consumer of the definitions."""
import copy
import importlib
import json
import re
from pathlib import Path

import pytest

from deploys import mesos
from shared.secrets import NAMES as SECRET_NAMES
from marathon import apps
from marathon.schema import AppDefinitionError, validate
from services.core.settings import Settings, describe

ROOT = Path(__file__).resolve().parents[2]


def test_one_definition_per_service_and_nothing_else():
    files = sorted(p.stem for p in apps.APPS_DIR.glob("*.json"))
    assert files == sorted(apps.SERVICES)
    assert set(apps.SERVICES) == {"producer", "storage-writer", "stream-processor", "redis-publisher", "live-lane", "dashboard"}


@pytest.mark.parametrize("name", apps.SERVICES)
def test_every_definition_is_valid(name):
    app = apps.read(apps.path_of(name))  # raises AppDefinitionError naming the app otherwise
    assert app.id == f"/bigdata/{name}"
    assert app.definition["labels"]["io.bigdata.service"] == name


@pytest.mark.parametrize("name", apps.SERVICES)
def test_each_runs_its_service_module_in_exec_form(name):
    definition = apps.read(apps.path_of(name)).definition
    assert definition["args"] == ["python", "-m", f"services.{name.replace('-', '_')}"]
    assert "cmd" not in definition
    package = ROOT / "services" / name.replace("-", "_")
    if package.is_dir():  # the stream processor and dashboard are not written yet
        assert (package / "__main__.py").is_file()


def test_rollout_order_puts_consumers_before_the_producer():
    order = [a.name for a in apps.load()]
    assert order[-1] == "producer" and order.index("storage-writer") < order.index("producer")


def service_settings() -> set[str]:
    """Every variable a service reads: the shared settings and each service's own."""
    known = {variable for variable, _, _ in describe()}
    for module_file in sorted((ROOT / "services").glob("*/settings.py")):
        module = importlib.import_module(f"services.{module_file.parent.name}.settings")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Settings):  # a service's own settings
                known |= {value.variable(name) for name in value.model_fields}
    return known


def test_env_sets_only_settings_the_services_read():
    known = service_settings()
    for app in apps.load():
        unknown = set(app.definition["env"]) - known
        assert not unknown, f"{app.label}: env variables no service reads: {unknown}"


# a backend's password variable -> the prefix of its users' secrets; the admins' secrets
OWN_USER = {f"BIGDATA_{backend}_PASSWORD": f"BIGDATA_{backend}_" for backend in ("REDIS", "KAFKA", "CASSANDRA")}
ADMIN_SECRETS = {"BIGDATA_REDIS_PASSWORD", "BIGDATA_KAFKA_ADMIN_PASSWORD", "BIGDATA_CASSANDRA_PASSWORD"}


def test_secrets_come_from_platform_secrets_only():
    for app in apps.load():
        sources = apps.secret_sources(app)
        assert sources, f"{app.label}: every service needs at least one password"
        assert set(sources.values()) <= set(SECRET_NAMES), app.label
        for variable, source in sources.items():
            # a variable takes its own secret, but a backend's password is the app's own user's, never
            # the admin's (test_kafka_settings and test_cassandra_settings tie each user to its secret)
            wanted = (variable,) if variable not in OWN_USER else tuple(
                name for name in SECRET_NAMES if name.startswith(OWN_USER[variable]) and name not in ADMIN_SECRETS)
            assert source in wanted, f"{app.label}: {variable} should take secret {wanted}, not {source}"


def test_fixed_ports_are_offered_by_the_agents():
    """An app that requires a host port only starts where the agents offer it."""
    ranges = []
    for part in mesos.Settings.model_fields["mesos_agent_resources"].default["ports"].strip("[]").split(","):
        low, high = part.strip().split("-")
        ranges.append((int(low), int(high)))
    for app in apps.load():
        if app.definition.get("requirePorts"):
            for port in app.definition["portDefinitions"]:
                assert any(low <= port["port"] <= high for low, high in ranges), (app.label, port)


def test_health_checks_point_at_a_declared_port():
    for app in apps.load():
        for check in app.definition["healthChecks"]:
            assert check["portIndex"] < len(app.definition["portDefinitions"]), app.label
            assert check["gracePeriodSeconds"] >= check["intervalSeconds"], app.label


def test_the_spark_jobs_checkpoint_outlives_its_container():
    """The driver writes its checkpoint (offsets, window state) under a host path
    mounted into the container, so a restarted job resumes instead of starting over."""
    stream = pytest.importorskip("services.stream_processor.settings",
                                 reason="the stream processor is not written yet")
    volumes = apps.load(["stream-processor"])[0].definition["container"]["volumes"]
    assert any(stream.CHECKPOINT.startswith(v["containerPath"] + "/") and v["hostPath"] == v["containerPath"]
               and v["mode"] == "RW" for v in volumes), volumes


def test_single_writer_apps_never_overlap_in_an_upgrade():
    """The Spark job owns its checkpoint and the producer's rate is the platform's
    total: a new instance starts only after the old one stopped."""
    for name in ("stream-processor", "producer"):
        definition = apps.load([name])[0].definition
        assert definition["instances"] == 1
        assert definition["upgradeStrategy"] == {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}


# --- broken definitions: each fails, naming the app --------------------------------------
def _set(path, value):
    def change(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value
    return change


def _delete(path):
    def change(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        del d[last]
    return change


BROKEN = {
    "unknown top-level key (typo)": (_set(["instance"], 2), r"Additional properties are not allowed \('instance'"),
    "cpus of the wrong type": (_set(["cpus"], "one"), r"cpus: 'one' is not of type 'number'"),
    "unknown health check protocol": (_set(["healthChecks", 0, "protocol"], "HTTP2"),
                                      r"healthChecks\[0\]\.protocol: 'HTTP2' is not one of"),
    "unknown container engine": (_set(["container", "type"], "DOCKR"), r"container\.type: 'DOCKR' is not one of"),
    "unknown network mode": (_set(["networks", 0, "mode"], "bridge"), r"networks\[0\]\.mode: 'bridge' is not one of"),
    "missing container image": (_delete(["container", "docker", "image"]),
                                r"container\.docker: 'image' is a required property"),
    "upgrade capacity above 1": (_set(["upgradeStrategy", "minimumHealthCapacity"], 1.5),
                                 r"upgradeStrategy\.minimumHealthCapacity: 1\.5 is greater than the maximum of 1"),
    "constraint of one element": (_set(["constraints"], [["hostname"]]),
                                  r"constraints\[0\]: \['hostname'\] is too short"),
    "upper-case id": (_set(["id"], "/bigdata/Producer"), r"id: '/bigdata/Producer' does not match"),
    "negative instances": (_set(["instances"], -1), r"instances: -1 is less than the minimum of 0"),
    "shell command instead of args": (_set(["cmd"], "python -m services.producer"), r"cmd: .* should not be valid"),
    "password as a value": (_set(["env", "BIGDATA_KAFKA_PASSWORD"], "hunter2hunter2"),
                            r"env\.BIGDATA_KAFKA_PASSWORD: 'hunter2hunter2' is not of type 'object'"),
    "secret reference to an undeclared secret": (_set(["env", "BIGDATA_KAFKA_PASSWORD"], {"secret": "nope"}),
                                                 r"refers to secret 'nope', which `secrets` does not declare"),
    "image without a tag": (_set(["container", "docker", "image"], "bigdata/pipeline"),
                            r"container\.docker\.image: 'bigdata/pipeline' does not match"),
    "no health check": (_set(["healthChecks"], []), r"healthChecks: \[\] should be non-empty"),
    "health check on another path": (_set(["healthChecks", 0, "path"], "/"),
                                     r"healthChecks\[0\]\.path: '/health' was expected"),
}


@pytest.mark.parametrize("change, expected", BROKEN.values(), ids=BROKEN.keys())
def test_broken_definition_fails_naming_the_app(tmp_path, change, expected):
    definition = json.loads(apps.path_of("producer").read_text())
    change(definition)
    path = tmp_path / "producer.json"
    path.write_text(json.dumps(definition))
    with pytest.raises(AppDefinitionError) as failure:
        apps.read(path)
    message = str(failure.value)
    assert message.startswith(f"{path} ("), message  # the file, then the app's id
    if "id" in definition:
        assert f"({definition['id']})" in message
    assert failure.value.problems and any(re.search(expected, p) for p in failure.value.problems), message


def test_missing_id_is_named_by_its_file(tmp_path):
    definition = json.loads(apps.path_of("dashboard").read_text())
    del definition["id"]
    path = tmp_path / "dashboard.json"
    path.write_text(json.dumps(definition))
    with pytest.raises(AppDefinitionError, match=r"(?s)dashboard\.json: .*'id' is a required property"):
        apps.read(path)


def test_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "redis-publisher.json"
    path.write_text('{"id": "/bigdata/redis-publisher",')
    with pytest.raises(AppDefinitionError, match=r"redis-publisher\.json: not JSON"):
        apps.read(path)


def test_marathon_schema_errors_name_the_raml_file_they_come_from():
    definition = copy.deepcopy(apps.load(["producer"])[0].definition)
    del definition["container"]["docker"]["image"]
    with pytest.raises(AppDefinitionError, match=r"\[Marathon: types/appContainer\.raml: DockerContainer\]"):
        validate(definition, "producer.json")


# --- what a run changes --------------------------------------------------------------
def test_image_tag_replaces_only_the_projects_images():
    app = apps.load(["producer"])[0]
    assert apps.with_image_tag(app, "3f2a9c1e7b4d").definition["container"]["docker"]["image"] == \
        "bigdata/pipeline:3f2a9c1e7b4d"
    foreign = app.replace({**app.definition, "container": {"type": "DOCKER", "docker": {"image": "redis:7"}}})
    assert apps.with_image_tag(foreign, "abc").definition["container"]["docker"]["image"] == "redis:7"
    with pytest.raises(ValueError, match="not a Docker image tag"):
        apps.with_image_tag(app, "bad tag")
    assert app.definition["container"]["docker"]["image"] == "bigdata/pipeline:latest"  # the file's copy untouched


def test_site_env_goes_to_every_app_but_never_over_a_secret():
    app = apps.load(["storage-writer"])[0]
    changed = apps.with_env(app, {"BIGDATA_KAFKA_BOOTSTRAP": "k1:9092,k2:9092"})
    assert changed.definition["env"]["BIGDATA_KAFKA_BOOTSTRAP"] == "k1:9092,k2:9092"
    validate(changed.definition, changed.source)
    with pytest.raises(AppDefinitionError, match=r"storage-writer\.json \(/bigdata/storage-writer\): "
                                                 r"env\.BIGDATA_CASSANDRA_PASSWORD: comes from secret"):
        apps.with_env(app, {"BIGDATA_CASSANDRA_PASSWORD": "plain"})


def test_inline_secrets_resolve_every_reference_or_name_what_is_missing():
    app = apps.load(["dashboard"])[0]
    values = {"BIGDATA_CASSANDRA_DASHBOARD_PASSWORD": "c" * 20, "BIGDATA_REDIS_DASHBOARD_PASSWORD": "r" * 20}
    inlined = apps.inline_secrets(app, values.get)
    assert "secrets" not in inlined.definition
    assert inlined.definition["env"]["BIGDATA_REDIS_PASSWORD"] == "r" * 20  # the dashboard user's
    assert inlined.definition["env"]["BIGDATA_CASSANDRA_PASSWORD"] == "c" * 20  # the dashboard role's
    validate(inlined.definition, profile=False)  # still a valid Marathon app
    with pytest.raises(AppDefinitionError, match=r"dashboard\.json \(/bigdata/dashboard\): .*"
                                                 r"secret source BIGDATA_REDIS_DASHBOARD_PASSWORD has no value"):
        apps.inline_secrets(app, {"BIGDATA_CASSANDRA_DASHBOARD_PASSWORD": "c" * 20}.get)


def test_scaling_and_unknown_services():
    app = apps.load(["redis-publisher"])[0]
    assert apps.with_instances(app, 3).definition["instances"] == 3
    with pytest.raises(AppDefinitionError, match="redis-publisher.*negative"):
        apps.with_instances(app, -1)
    with pytest.raises(KeyError, match="unknown service"):
        apps.load(["producer", "consumer"])


def test_prepare_adds_an_apps_own_env_and_refuses_an_app_not_in_the_run():
    prepared = {app.name: app for app in apps.prepare(apps.load(), app_env={"producer": {"BIGDATA_PRODUCER_RATE": 50}})}
    assert prepared["producer"].definition["env"]["BIGDATA_PRODUCER_RATE"] == "50"
    assert "BIGDATA_PRODUCER_RATE" not in prepared["storage-writer"].definition["env"]
    with pytest.raises(ValueError, match=r"env: no app nosuch in this run"):
        apps.prepare(apps.load(), app_env={"nosuch": {"X": "1"}})


def test_each_app_using_redis_logs_in_as_a_user_the_redis_deploy_defines():
    """The definitions name their Redis users by hand (JSON); deploys/redis defines them."""
    from deploys.redis import ACL_USERS
    defined = {user.name for user in ACL_USERS}
    users = {app.name: (app.definition.get("env") or {}).get("BIGDATA_REDIS_USER") for app in apps.load()}
    using = {name: user for name, user in users.items() if user}
    assert set(using) == {"redis-publisher", "live-lane", "dashboard"}
    assert set(using.values()) <= defined and len(set(using.values())) == len(using), using
