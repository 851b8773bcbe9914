"""Validate attack parameters against the JSON Schema an attack publishes (``ListAttacks``).

Problems come back as (path, message) pairs in the words the spec loader uses everywhere
("must be >= 1", "unknown key"), and never echo the offending value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

Path = tuple[str | int, ...]

_TYPE_WORDS = {
    "integer": "must be an integer", "number": "must be a number",
    "boolean": "must be true or false", "string": "must be a string",
    "object": "must be a mapping", "array": "must be a list", "null": "must be null",
}
_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def schema_problems(schema: Mapping[str, Any], params: Any) -> list[tuple[Path, str]]:
    """The problems of ``params`` under ``schema`` (one per path), as (path, message)."""
    validator = Draft202012Validator(dict(schema))
    problems: dict[Path, str] = {}  # one problem per path: the first the schema finds
    # A field's own constraints before cross-field rules (``if``/``else``) about it.
    ordered = sorted(validator.iter_errors(params),
                     key=lambda e: (list(map(str, e.path)), len(e.schema_path)))
    for error in ordered:
        for path, problem in _explain(error):
            problems.setdefault(path, problem)
    return list(problems.items())


def _explain(error: ValidationError) -> list[tuple[Path, str]]:
    path: Path = tuple(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    if kind in ("anyOf", "oneOf") and error.context:
        # ``int | None`` and the like: report the branch that is not just "null".
        branches = [e for e in error.context if e.schema.get("type") != "null"]
        chosen = best_match(branches or error.context)
        return _explain(chosen) if chosen is not None else [(path, "is not valid")]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [((*path, key), "unknown key") for key in error.instance if key not in known]
    if kind == "required" and isinstance(error.instance, dict):
        return [((*path, key), "required") for key in value if key not in error.instance]
    if kind in _BOUNDS:
        return [(path, f"must be {_BOUNDS[kind]} {_number(value)}")]
    if kind == "type":
        kinds = value if isinstance(value, list) else [value]
        return [(path, " or ".join(_TYPE_WORDS.get(k, f"must be {k}") for k in kinds))]
    if kind == "enum":
        return [(path, "must be one of " + ", ".join(json.dumps(v) for v in value))]
    if kind == "const":
        return [(path, f"must be {json.dumps(value)}")]
    if kind in ("minLength", "maxLength", "minItems", "maxItems"):
        word = "at least" if kind.startswith("min") else "at most"
        unit = "characters" if kind.endswith("Length") else "entries"
        return [(path, f"must have {word} {value} {unit}")]
    return [(path, "is not valid")]


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)
