"""marathon/schema: the JSON Schema is derived from Marathon's RAML types (not
invented): deriving it again gives the committed file, Marathon's own published
example payloads pass it, and the translation of each RAML construct is checked
on small RAML libraries of the tests' own."""
import json
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from marathon.schema import SCHEMA_FILE, app_schema, problems
from marathon.schema.derive import RamlError, derive, raml_dir, render

RAML = raml_dir()
EXAMPLES = RAML / "examples"
needs_raml = pytest.mark.skipif(not (RAML / "types" / "app.raml").is_file(),
                                reason=f"Marathon's RAML reference data is not at {RAML} (../shared/marathon-api-v2)")


@needs_raml
def test_committed_schema_is_what_the_raml_gives():
    assert render(derive(RAML)) == SCHEMA_FILE.read_text(), \
        "marathon/schema/app.schema.json is stale: run `python -m marathon.schema.derive`"


def test_schema_is_a_valid_draft_2020_12_schema_naming_its_raml_sources():
    schema = app_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$ref"] == "#/$defs/app.App"
    for key, definition in schema["$defs"].items():
        library, type_name = key.split(".")
        assert definition["$comment"] == f"types/{library}.raml: {type_name}"
    assert {"app.App", "appContainer.DockerContainer", "healthCheck.AppHealthCheck", "network.Network",
            "constraint.AppConstraint", "environmentVariable.LegacyEnvVars", "secrets.Secrets"} <= set(schema["$defs"])


@needs_raml
@pytest.mark.parametrize("example", ["app.json", "app-check-http-example.json", "apps_create.json"])
def test_marathons_own_example_payloads_are_valid(example):
    payload = json.loads((EXAMPLES / example).read_text())
    for app in payload if isinstance(payload, list) else [payload]:
        assert problems(app, profile=False) == [], f"{example}: {app.get('id')}"


@needs_raml
def test_every_app_of_marathons_group_example_is_valid():
    def apps_of(group):
        yield from group.get("apps", [])
        for child in group.get("groups", []):
            yield from apps_of(child)
    apps = list(apps_of(json.loads((EXAMPLES / "group.json").read_text())))
    assert apps and all(problems(app, profile=False) == [] for app in apps)


@needs_raml
def test_a_status_response_is_not_an_app_definition():
    """app_list.json is what Marathon answers (status fields, nulls): the schema of
    what one sends refuses it, so it does tell the two apart."""
    app = json.loads((EXAMPLES / "app_list.json").read_text())["apps"][0]
    found = "\n".join(problems(app, profile=False))
    assert "'tasksRunning'" in found and "None is not of type 'array'" in found


@needs_raml
def test_marathons_published_422_is_refused_here_too():
    """apps.raml's 422 example: /upgradeStrategy/minimumHealthCapacity "is greater than 1"."""
    app = json.loads((EXAMPLES / "app.json").read_text())
    app["upgradeStrategy"]["minimumHealthCapacity"] = 1.2
    assert any(p.startswith("upgradeStrategy.minimumHealthCapacity: 1.2 is greater than the maximum of 1")
               for p in problems(app, profile=False))


# --- the translation, on RAML of the tests' own ------------------------------------------
def _raml(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "types").mkdir(parents=True)
    for name, text in files.items():
        (tmp_path / "types" / name).write_text("#%RAML 1.0 Library\n" + textwrap.dedent(text))
    return tmp_path


def _validator(tmp_path, app_raml: str, **others) -> Draft202012Validator:
    schema = derive(_raml(tmp_path, {"app.raml": app_raml, **others}))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_optional_required_closed_and_pattern_properties(tmp_path):
    v = _validator(tmp_path, """
        types:
          App:
            type: object
            properties:
              id: string
              size?: {type: integer, minimum: 1}
              labels?:
                type: object
                properties:
                  /^[a-z]+$/: string
        """)
    assert v.is_valid({"id": "a", "size": 2, "labels": {"tier": "x"}})
    assert not v.is_valid({"size": 2})                       # id is required
    assert not v.is_valid({"id": "a", "size": 0})            # minimum
    assert not v.is_valid({"id": "a", "colour": "red"})      # closed object
    assert not v.is_valid({"id": "a", "labels": {"Tier": "x"}})  # no pattern matches
    assert not v.is_valid({"id": "a", "labels": {"tier": 1}})


def test_libraries_unions_arrays_nullable_and_deprecation(tmp_path):
    v = _validator(tmp_path, """
        uses:
          other: other.raml
        types:
          App:
            type: object
            properties:
              id: string
              ports?: other.Port[]
              mode?: other.Mode | other.Port
              note?: string?
              old?:
                type: boolean
                (pragma.deprecated): use mode
        """, **{"other.raml": """
        types:
          Port: {type: integer, minimum: 0, maximum: 65535}
          Mode: {type: string, enum: [host, bridge]}
        """})
    assert v.is_valid({"id": "a", "ports": [80, 0], "mode": "host", "note": None, "old": True})
    assert v.is_valid({"id": "a", "mode": 8080})
    assert not v.is_valid({"id": "a", "ports": [70000]})
    assert not v.is_valid({"id": "a", "mode": "overlay"})
    assert v.schema["$defs"]["app.App"]["properties"]["old"]["deprecated"] is True
    assert v.schema["$defs"]["other.Port"]["$comment"] == "types/other.raml: Port"


def test_unknown_type_or_library_is_an_error_naming_where(tmp_path):
    with pytest.raises(RamlError, match=r"types/app\.raml: App\.x: unknown type 'Nope'"):
        derive(_raml(tmp_path / "a", {"app.raml": "types:\n  App:\n    properties:\n      x: Nope\n"}))
    with pytest.raises(RamlError, match=r"names library 'lib', which app\.raml does not use"):
        derive(_raml(tmp_path / "b", {"app.raml": "types:\n  App:\n    properties:\n      x: lib.T\n"}))
