"""YAML -> ``ExerciseSpec``, with every problem reported under its YAML path.

Paths look like ``adversaries[0].attacks[1].params.reference_models``. Structural problems come
from the pydantic models in ``spec``; the checks here add what needs the registries: known data
sets and zoo models, known attacks, their parameters, and whether each attack can run under the
exercise's threat model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leakrange.common.errors import InvalidArgument, RangeError
from leakrange.orchestrator.spec import ExerciseSpec

MAX_SPEC_BYTES = 256 * 1024


class SpecError(InvalidArgument):
    """A spec with one or more problems; ``problems`` holds (path, problem) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        first_path, first_problem = problems[0]
        super().__init__(first_path, first_problem)
        self.problems = list(problems)
        self.message = "; ".join(f"{path}: {problem}" for path, problem in self.problems)


def format_path(loc: Sequence[str | int]) -> str:
    """``('adversaries', 0, 'attacks')`` -> ``adversaries[0].attacks``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "spec"


def _problem(error: Any) -> str:
    """A short message for one pydantic error; never echoes the offending value."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    bounds = {
        "greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"),
        "less_than_equal": ("le", "<="), "less_than": ("lt", "<"),
    }
    if kind in bounds:
        key, op = bounds[kind]
        return f"must be {op} {ctx.get(key)}"
    fixed = {
        "extra_forbidden": "unknown key", "missing": "required",
        "int_type": "must be an integer", "int_parsing": "must be an integer",
        "int_from_float": "must be an integer", "float_type": "must be a number",
        "float_parsing": "must be a number", "bool_type": "must be true or false",
        "bool_parsing": "must be true or false", "string_type": "must be a string",
        "dict_type": "must be a mapping", "model_type": "must be a mapping",
        "list_type": "must be a list", "string_pattern_mismatch":
            "must be 1-64 characters of letters, digits, '.', '_' or '-'",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("too_short", "too_long"):
        word = "at least" if kind == "too_short" else "at most"
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        unit = "characters" if isinstance(error.get("input"), str) else "entries"
        return f"must have {word} {count} {unit}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_spec(text: str | bytes) -> ExerciseSpec:
    """Parse YAML and validate its structure. Raises ``SpecError`` naming every problem's path."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([("spec", f"larger than {MAX_SPEC_BYTES} bytes")])
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError([("spec", f"not valid YAML{where}")]) from None
    if not isinstance(doc, dict):
        raise SpecError([("spec", "must be a YAML mapping")])
    try:
        return ExerciseSpec.model_validate(doc)
    except ValidationError as err:
        problems = [
            (format_path(e["loc"]), _problem(e))
            for e in err.errors(include_url=False)
        ]
        raise SpecError(problems) from None


def check_spec(spec: ExerciseSpec) -> None:
    """Checks that need the registries (data sets, model zoo, attacks). Raises ``SpecError``."""
    problems: list[tuple[str, str]] = []
    problems += _check_target(spec)
    problems += _check_attacks(spec)
    if problems:
        raise SpecError(problems)


def load_spec(text: str | bytes) -> ExerciseSpec:
    """``parse_spec`` + ``check_spec``: a spec that passes can be run."""
    spec = parse_spec(text)
    check_spec(spec)
    return spec


def load_spec_file(path: str | Path) -> ExerciseSpec:
    source = Path(path)
    if not source.is_file():
        raise SpecError([("spec", "file not found")])
    if source.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError([("spec", f"larger than {MAX_SPEC_BYTES} bytes")])
    return load_spec(source.read_bytes())


def _check_target(spec: ExerciseSpec) -> list[tuple[str, str]]:
    from leakrange.datasets import dataset_entry
    from leakrange.models.zoo import ZOO

    train = spec.target.train
    if train is None:
        return []
    problems: list[tuple[str, str]] = []
    try:
        entry = dataset_entry(train.dataset)
    except RangeError as err:
        problems.append(("target.train.dataset", str(err)))
    else:
        pool = train.population or entry.rows
        if train.population is not None and train.population > entry.rows:
            problems.append(("target.train.population", f"must be <= {entry.rows}"))
        elif train.members + (train.nonmembers or train.members) > pool:
            problems.append(("target.train.members",
                             f"members + nonmembers must be <= {pool} records"))
    knowledge = spec.threat_model.knowledge
    proxy = knowledge.proxy_model or ""
    if not knowledge.architecture_known and proxy not in ZOO and not proxy.startswith("{"):
        problems.append(("threat_model.knowledge.proxy_model",
                         f"must be a zoo name or a JSON model spec; zoo: {', '.join(sorted(ZOO))}"))
    if isinstance(train.model, str) and train.model not in ZOO:
        problems.append(("target.train.model", f"unknown model; zoo: {', '.join(sorted(ZOO))}"))
    if (
        spec.audit.records_per_side is not None
        and spec.audit.records_per_side > min(train.members, train.nonmembers or train.members)
    ):
        problems.append(("audit.records_per_side", "must be <= members and <= nonmembers"))
    return problems


def where_loc(adversary: int, attack: int) -> list[str | int]:
    return ["adversaries", adversary, "attacks", attack]


def _check_attacks(spec: ExerciseSpec) -> list[tuple[str, str]]:
    from leakrange.attacks.registry import families, get_registry

    problems: list[tuple[str, str]] = []
    served = families()
    for i, adversary in enumerate(spec.adversaries):
        if adversary.family not in served:
            problems.append((f"adversaries[{i}].family",
                             f"no attack service for this family (available: {', '.join(served)})"))
            continue
        registry = get_registry(adversary.family)
        for j, attack in enumerate(adversary.attacks):
            where = f"adversaries[{i}].attacks[{j}]"
            try:
                cls = registry.get(attack.name)
            except RangeError:
                problems.append((f"{where}.name",
                                 f"unknown attack (available: {', '.join(registry.names())})"))
                continue
            try:
                cls.Params.model_validate(attack.params)
            except ValidationError as err:
                problems += [
                    (format_path([*where_loc(i, j), "params", *e["loc"]]), _problem(e))
                    for e in err.errors(include_url=False)
                ]
            try:
                cls.check_threat_model(spec.threat_model)
            except RangeError as err:
                problems.append((where, str(err)))
    return problems
