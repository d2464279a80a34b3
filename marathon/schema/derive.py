"""Derive the JSON Schema of a Marathon app definition from Marathon's own RAML
types (the REST API v2 as the Marathon project last published it, 1.10/1.11 line).

    python -m marathon.schema.derive [RAML_DIR] [--output marathon/schema/app.schema.json]

RAML_DIR is the folder holding `types/app.raml` (default: ../shared/marathon-api-v2
beside the checkout, or $BIGDATA_MARATHON_RAML). Starting from `App` in
`types/app.raml`, every type it reaches through the libraries it `uses:` becomes one
`$defs` entry named `<file>.<Type>` whose `$comment` names the RAML file and type it
came from. The committed `app.schema.json` is this program's output; a unit test
derives it again from the RAML and expects the same document.

The translation, RAML 1.0 -> JSON Schema 2020-12:

- `name?` properties are optional, others required (RAML's rule); `/regex/`
  property names are pattern properties;
- object types are closed (`additionalProperties: false`). RAML leaves object
  types open unless told otherwise, but an app definition field Marathon does not
  know is a mistake (a typo), so this schema refuses it. That is the one place
  where it is stricter than the RAML;
- `A | B` unions become `anyOf`, `T[]` arrays, `T?` "T or null", `datetime` a
  date-time string, `nil` null; enum, minimum, maximum, minLength, maxLength,
  pattern, minItems, maxItems, uniqueItems and default carry over as they are;
- `(pragma.deprecated)` becomes `deprecated: true`; other annotations, descriptions
  and examples are left out.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RAML_DIR = ROOT.parent / "shared" / "marathon-api-v2"
SCHEMA_FILE = Path(__file__).resolve().with_name("app.schema.json")
ROOT_TYPE = ("app", "App")  # types/app.raml: App

BUILTINS = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "datetime-only": {"type": "string"},
    "date-only": {"type": "string", "format": "date"},
    "nil": {"type": "null"},
    "object": {"type": "object"},
    "array": {"type": "array"},
    "any": {},
}
SCALAR_FACETS = ("enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "default")
ARRAY_FACETS = ("minItems", "maxItems", "uniqueItems")


def raml_dir() -> Path:
    return Path(os.environ.get("BIGDATA_MARATHON_RAML") or DEFAULT_RAML_DIR)


class RamlError(ValueError):
    """A RAML construct this translation does not know (it says which, and where)."""


class Library:
    """One RAML library file: its aliases (`uses:`) and its types."""

    def __init__(self, path: Path):
        text = path.read_text()
        if not text.startswith("#%RAML 1.0 Library"):
            raise RamlError(f"{path}: not a RAML 1.0 library")
        document = yaml.safe_load(text) or {}
        self.path = path
        self.name = path.stem
        self.uses: dict[str, str] = document.get("uses") or {}
        self.types: dict = document.get("types") or {}


class Deriver:
    def __init__(self, types_dir: Path):
        self.types_dir = types_dir
        self.libraries: dict[str, Library] = {}
        self.defs: dict[str, dict] = {}
        self.pending: list[tuple[str, str]] = []

    def library(self, name: str) -> Library:
        if name not in self.libraries:
            path = self.types_dir / f"{name}.raml"
            if not path.is_file():
                raise RamlError(f"{path}: missing (a library that another one uses)")
            self.libraries[name] = Library(path)
        return self.libraries[name]

    def derive(self) -> dict:
        root = self.ref(*ROOT_TYPE)
        while self.pending:
            lib_name, type_name = self.pending.pop()
            key = f"{lib_name}.{type_name}"
            if key in self.defs:
                continue
            lib = self.library(lib_name)
            if type_name not in lib.types:
                raise RamlError(f"types/{lib_name}.raml: no type {type_name!r}")
            self.defs[key] = {}  # reserve: recursive types refer to it while it is built
            schema = self.declaration(lib, lib.types[type_name], where=f"types/{lib_name}.raml: {type_name}")
            self.defs[key] = {"$comment": f"types/{lib_name}.raml: {type_name}", **schema}
        files = sorted({key.split(".")[0] for key in self.defs})
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Marathon app definition (REST API v2, /v2/apps)",
            "$comment": ("Derived by marathon/schema/derive.py from Marathon's RAML types: "
                         + ", ".join(f"types/{f}.raml" for f in files)
                         + ". Object types are closed (additionalProperties: false), unlike RAML's default."),
            **root,
            "$defs": {key: self.defs[key] for key in sorted(self.defs)},
        }

    # --- references and type expressions ---------------------------------------------
    def ref(self, lib_name: str, type_name: str) -> dict:
        key = f"{lib_name}.{type_name}"
        if key not in self.defs:
            self.pending.append((lib_name, type_name))
        return {"$ref": f"#/$defs/{key}"}

    def expression(self, lib: Library, expr: str, where: str) -> dict:
        """A RAML type expression: `T`, `alias.T`, `T[]`, `T?`, `A | B`, `(A | B)`."""
        expr = expr.strip()
        parts = _split_union(expr)
        if len(parts) > 1:
            return {"anyOf": [self.expression(lib, part, where) for part in parts]}
        if expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1]):
            return self.expression(lib, expr[1:-1], where)
        if expr.endswith("[]"):
            return {"type": "array", "items": self.expression(lib, expr[:-2], where)}
        if expr.endswith("?"):
            return {"anyOf": [self.expression(lib, expr[:-1], where), {"type": "null"}]}
        if expr in BUILTINS:
            return dict(BUILTINS[expr])
        if "." in expr:
            alias, _, type_name = expr.partition(".")
            if alias not in lib.uses:
                raise RamlError(f"{where}: {expr!r} names library {alias!r}, which {lib.name}.raml does not use")
            return self.ref(Path(lib.uses[alias]).stem, type_name)
        if expr in lib.types:
            return self.ref(lib.name, expr)
        raise RamlError(f"{where}: unknown type {expr!r}")

    # --- declarations --------------------------------------------------------------
    def declaration(self, lib: Library, decl, where: str) -> dict:
        if decl is None:
            return {"type": "string"}  # RAML: a declaration without type or properties is a string
        if isinstance(decl, str):
            return self.expression(lib, decl, where)
        if not isinstance(decl, dict):
            raise RamlError(f"{where}: cannot read declaration {decl!r}")
        base = decl.get("type")
        if isinstance(base, list):
            raise RamlError(f"{where}: multiple inheritance is not supported")
        if base is None:
            base = "object" if "properties" in decl else ("array" if "items" in decl else "string")
        schema: dict = {}
        if base == "object" or "properties" in decl:
            if base != "object":
                raise RamlError(f"{where}: an object type inheriting from {base!r} is not supported")
            schema.update(self.object(lib, decl, where))
        elif base == "array":
            schema["type"] = "array"
            if "items" in decl:
                schema["items"] = self.declaration(lib, decl["items"], f"{where}[]")
        else:
            schema.update(self.expression(lib, base, where))
        for facet in (*SCALAR_FACETS, *ARRAY_FACETS):
            if facet in decl:
                schema[facet] = decl[facet]
        if "(pragma.deprecated)" in decl:
            schema["deprecated"] = True
        return schema

    def object(self, lib: Library, decl: dict, where: str) -> dict:
        properties, patterns, required = {}, {}, []
        for raw_name, prop in (decl.get("properties") or {}).items():
            name = str(raw_name)
            if name.startswith("/") and name.endswith("/") and len(name) > 1:
                patterns[name[1:-1]] = self.declaration(lib, prop, f"{where}.{name}")
                continue
            optional = name.endswith("?")
            name = name.rstrip("?")
            if isinstance(prop, dict) and prop.get("required") is False:
                optional = True
            properties[name] = self.declaration(lib, prop, f"{where}.{name}")
            if not optional:
                required.append(name)
        schema: dict = {"type": "object"}
        if properties:
            schema["properties"] = properties
        if patterns:
            schema["patternProperties"] = patterns
        if required:
            schema["required"] = required
        schema["additionalProperties"] = bool(decl.get("additionalProperties", False))
        return schema


def _split_union(expr: str) -> list[str]:
    """`A | (B | C)` -> ["A", "(B | C)"]: splits on the top-level bars only."""
    parts, depth, current = [], 0, ""
    for char in expr:
        depth += (char == "(") - (char == ")")
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def _balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += (char == "(") - (char == ")")
        if depth < 0:
            return False
    return depth == 0


def derive(raml: Path | None = None) -> dict:
    """The app definition schema, derived from `<raml>/types/app.raml` and what it uses."""
    types_dir = (raml or raml_dir()) / "types"
    if not (types_dir / "app.raml").is_file():
        raise FileNotFoundError(f"{types_dir / 'app.raml'} is missing: give the folder of Marathon's RAML "
                                f"(marathon-api-v2) as RAML_DIR or in BIGDATA_MARATHON_RAML")
    return Deriver(types_dir).derive()


def render(schema: dict) -> str:
    return json.dumps(schema, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m marathon.schema.derive", description=__doc__.split("\n\n")[0])
    parser.add_argument("raml_dir", nargs="?", type=Path, default=None,
                        help=f"folder with types/app.raml (default: {DEFAULT_RAML_DIR})")
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help="where to write the schema ('-': stdout)")
    args = parser.parse_args(argv)
    text = render(derive(args.raml_dir))
    if str(args.output) == "-":
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output} ({len(json.loads(text)['$defs'])} types)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
