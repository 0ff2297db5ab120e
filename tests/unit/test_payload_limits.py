"""Every request a route accepts is bounded by its contract: each string, list and map in a body or
parameter has a maximum (the gateway's 10 MB is the last line, not the first)."""

from __future__ import annotations

import re
import time

import pytest

from functions.experiments.schemas import ExperimentIn
from infra import openapi

# pydantic checks max_digits of Decimal values; a JSON schema has no way to say it.
DECIMALS = {"POST /v1/events body.events[].value", "POST /v1/server/events body.events[].value"}
_UNBOUNDED_REPEAT = re.compile(r"(?<!\\)[*+]|\{\d+,\}")


@pytest.fixture(scope="module")
def document():
    return openapi.build_document()


def _bounded_pattern(pattern: str) -> bool:
    return pattern.startswith("^") and pattern.endswith("$") and not _UNBOUNDED_REPEAT.search(pattern)


def unbounded(schema: dict, where: str, schemas: dict, seen: frozenset[str] = frozenset()) -> list[str]:
    """Where in `schema` a value can be as long as the sender likes."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else unbounded(schemas[name], where, schemas, seen | {name})
    found = [w for key in ("anyOf", "oneOf", "allOf") for s in schema.get(key, []) for w in unbounded(s, where, schemas, seen)]
    kind = schema.get("type")
    if kind == "string" and not ({"enum", "const", "maxLength"} & schema.keys()) and schema.get("format") not in ("date", "date-time"):
        if not _bounded_pattern(schema.get("pattern", "")):
            found.append(where)
    if kind == "array":
        found += [] if "maxItems" in schema else [f"{where}[]"]
        found += unbounded(schema.get("items", {}), f"{where}[]", schemas, seen)
    for name, value in schema.get("properties", {}).items():
        found += unbounded(value, f"{where}.{name}", schemas, seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        if "maxProperties" not in schema and "enum" not in schema.get("propertyNames", {}):
            found.append(f"{where}{{}}")
        found += unbounded(schema.get("propertyNames", {}), f"{where}{{key}}", schemas, seen)
        found += unbounded(extra, f"{where}{{}}", schemas, seen)
    return found


def test_every_body_and_parameter_of_every_route_is_bounded(document):
    schemas = document["components"]["schemas"]
    problems = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            places = [w for p in operation.get("parameters", []) for w in unbounded(p.get("schema", {}), f"param {p['name']}", schemas)]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            places += unbounded(body, "body", schemas) if body else []
            problems += [f"{route} {w}" for w in places if f"{route} {w}" not in DECIMALS]
    assert problems == []


def test_the_checker_finds_an_unbounded_field():
    schema = {"type": "object", "properties": {"note": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}},
                                               "by_key": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^a+$"}}}}
    assert unbounded(schema, "body", {}) == ["body.note", "body.tags[]", "body.by_key{}", "body.by_key{}"]


def test_factors_that_make_too_many_variants_are_refused_before_they_are_built():
    """4 factors of 24 levels would be 331,776 variants; 8 of 10 (before the bounds), 10^8 in memory."""
    started = time.perf_counter()
    with pytest.raises(ValueError, match="331776"):
        ExperimentIn(key="x", hypothesis="h", primary_metric="conversion_rate",
                     factors={f"f{i}": [f"l{j}" for j in range(24)] for i in range(4)})
    assert time.perf_counter() - started < 0.1
