"""YAML -> ``ExerciseSpec``, with every problem reported under its YAML path.

Paths look like ``adversaries[0].attacks[1].params.reference_models``. Structural problems come
from the pydantic models in ``spec``; the checks here add what needs the registries: the target
kind's own checks (data sets, zoo models ...), and, from the attack catalogue, known attacks,
their parameters (JSON Schema), whether each attack can run under the exercise's threat model
and whether the target has ground truth for what the attack returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leakrange.catalogue import AttackCatalogue, load_catalogue, schema_problems
from leakrange.common.errors import InvalidArgument, RangeError
from leakrange.orchestrator.spec import ExerciseSpec
from leakrange.orchestrator.spec_document import (
    DocumentTooComplex,
    check_yaml_shape,
    number_problems,
)
from leakrange.orchestrator.target_kinds import TargetKind, resolve

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
        check_yaml_shape(text)
        doc = yaml.safe_load(text)
    except DocumentTooComplex as err:
        raise SpecError([("spec", str(err))]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError([("spec", f"not valid YAML{where}")]) from None
    if not isinstance(doc, dict):
        raise SpecError([("spec", "must be a YAML mapping")])
    numbers = number_problems(doc)
    if numbers:
        raise SpecError([(format_path(loc), problem) for loc, problem in numbers])
    try:
        return ExerciseSpec.model_validate(doc)
    except ValidationError as err:
        problems = [
            (format_path(e["loc"]), _problem(e))
            for e in err.errors(include_url=False)
        ]
        raise SpecError(problems) from None


def check_spec(spec: ExerciseSpec, catalogue: AttackCatalogue | None = None) -> None:
    """Checks that need the registries (data sets, model zoo, the attack catalogue).
    Raises ``SpecError``. No attack code is imported: attacks are checked against the
    catalogue their services publish."""
    from leakrange.orchestrator.subgroups import subgroup_problems
    from leakrange.orchestrator.sweep import sweep_problems

    problems: list[tuple[str, str]] = []
    kind, part = resolve(spec.target)
    if spec.threat_model.knowledge.labels_known and not kind.grants_labels:
        problems.append(("threat_model.knowledge.labels_known", "only a federated target's "
                         f"server adversary can be given labels (this target is {kind.name})"))
    problems += kind.check(part, spec)
    problems += sweep_problems(spec)
    problems += subgroup_problems(spec)
    problems += _check_attacks(spec, catalogue or load_catalogue(), kind)
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


def localise_spec_file(path: str | Path) -> str:
    """The spec file's text with the target's file paths made absolute (relative paths in an
    exercise file are relative to the file). Unparseable text is returned as is, so the usual
    checks report it."""
    from leakrange.orchestrator.target_kinds import TARGET_KINDS

    source = Path(path)
    if not source.is_file() or source.stat().st_size > MAX_SPEC_BYTES:
        load_spec_file(source)  # raises the usual SpecError
    text = source.read_text(encoding="utf-8")
    try:
        check_yaml_shape(text)  # never build a hostile document, not even here
        doc = yaml.safe_load(text)
    except (yaml.YAMLError, DocumentTooComplex):
        return text
    target = doc.get("target") if isinstance(doc, dict) else None
    if not isinstance(target, dict):
        return text
    base = source.resolve().parent
    changed = {k.name: k.localise(target[k.name], base) for k in TARGET_KINDS if k.name in target}
    if all(changed[name] == target[name] for name in changed):
        return text
    return yaml.safe_dump({**doc, "target": {**target, **changed}}, sort_keys=False)


def where_loc(adversary: int, attack: int) -> list[str | int]:
    return ["adversaries", adversary, "attacks", attack]


def _check_attacks(
    spec: ExerciseSpec, catalogue: AttackCatalogue, kind: type[TargetKind]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    served = catalogue.families()
    for i, adversary in enumerate(spec.adversaries):
        if adversary.family not in served:
            problems.append((f"adversaries[{i}].family",
                             f"no attack service for this family (available: {', '.join(served)})"))
            continue
        for j, attack in enumerate(adversary.attacks):
            where = f"adversaries[{i}].attacks[{j}]"
            try:
                info = catalogue.get(adversary.family, attack.name)
            except RangeError:
                available = ", ".join(catalogue.names(adversary.family))
                problems.append((f"{where}.name", f"unknown attack (available: {available})"))
                continue
            problems += [
                (format_path([*where_loc(i, j), "params", *path]), problem)
                for path, problem in schema_problems(info.params_schema, attack.params)
            ]
            refusal = info.refusal(spec.threat_model)
            if refusal is not None:
                problems.append((where, refusal))
            if info.result_kind not in kind.result_kinds:
                problems.append((where, f"attack '{info.name}' returns {info.result_kind} "
                                        f"results, which a '{kind.name}' target cannot score"))
    return problems
