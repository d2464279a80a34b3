"""The deploys' own pyinfra facts, each from small fixtures as pyinfra tests its facts:
tests/unit/facts/<module>.<Fact>/<case>.json holds the fact's arguments ("arg"), the
command it runs ("command"), what a host prints ("output", one string a line) and the
value the fact makes of it ("fact", in JSON: sets and tuples as lists, sets sorted)."""
import ast
import dataclasses
import importlib
import json
from pathlib import Path

import pytest
from pyinfra.api import FactBase, StringCommand

from ctl import ROOT

FIXTURES = Path(__file__).parent / "facts"
CASES = sorted(FIXTURES.glob("*/*.json"))


def fact_class(name: str) -> type[FactBase]:
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


def as_json(value):
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, set):
        return sorted(as_json(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value


@pytest.mark.parametrize("path", CASES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_fact(path):
    case = json.loads(path.read_text())
    fact = fact_class(path.parent.name)()
    command = fact.command(**case["arg"])
    assert (command.get_raw_value() if isinstance(command, StringCommand) else command) == case["command"]
    assert as_json(fact.process(case["output"])) == case["fact"]


def test_every_fact_of_the_deploys_has_fixtures():
    """A fact added, or moved to another module, without its fixtures fails here."""
    classes = []  # (module.name, name, its bases' names, whether it has a command)
    for path in (ROOT / "deploys").rglob("*.py"):  # read, not imported: site.py runs the deploys
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        classes += [(f"{module}.{node.name}", node.name, {getattr(base, "id", None) for base in node.bases},
                     any(isinstance(item, ast.FunctionDef) and item.name == "command" for item in node.body))
                    for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)]
    # FactBase's subclasses, those of the deploys' own bases (e.g. deploys.facts.FirstLine) included
    bases = {"FactBase"}
    while grown := {name for _, name, parents, _ in classes if parents & bases} - bases:
        bases |= grown
    facts = {qualified for qualified, _, parents, command in classes if parents & bases and command}
    covered = {path.parent.name for path in CASES}
    assert facts <= covered, f"no fixtures in {FIXTURES} for {sorted(facts - covered)}"
    assert covered <= facts, f"fixtures for facts that are gone: {sorted(covered - facts)}"
    few = sorted(name for name in covered if len(list((FIXTURES / name).glob("*.json"))) < 2)
    assert not few, f"a normal and an empty or odd case for each fact: {few}"
