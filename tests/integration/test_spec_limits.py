"""Hostile exercise documents are refused before they are built, naming the path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leakrange.cli.main import app
from leakrange.orchestrator.spec_loading import SpecError, load_spec
from tests.e2e.range_helpers import small_spec

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)

CASES = [
    ("nested 1,000 deep", "name: x\nextra: " + "[" * 1000 + "]" * 1000 + "\n", "spec",
     "nested deeper than"),
    ("alias bomb", BOMB, "spec", "once aliases are expanded"),
    ("alias bomb in the model field", small_spec().replace(
        "model: mlp-small", "model: *g").replace("name: small\n", "name: small\n" + BOMB),
     "spec", "once aliases are expanded"),
    ("budget beyond 64 bits", small_spec(budget=10**30), "threat_model.access.query_budget",
     "64-bit"),
    ("top_k beyond 64 bits", small_spec().replace("output: probabilities",
                                                  f"output: topk, top_k: {2**70}"),
     "threat_model.access.top_k", "64-bit"),
    ("huge but 64-bit top_k", small_spec().replace("output: probabilities",
                                                   f"output: topk, top_k: {2**40}"),
     "threat_model.access.top_k", "must be <= 100000"),
    ("infinite weight decay", small_spec().replace("epochs: 3", "epochs: 3, weight_decay: .inf"),
     "target.train.recipe.weight_decay", "finite"),
    ("NaN attack parameter", small_spec(attacks="      - {name: rmia, params: {gamma: .nan}}\n"),
     "adversaries[0].attacks[0].params.gamma", "finite"),
]


@pytest.mark.parametrize(("case", "text", "path", "problem"), CASES, ids=[c[0] for c in CASES])
def test_hostile_documents_are_refused(case: str, text: str, path: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(text)
    assert any(p == path and problem in m for p, m in info.value.problems), info.value.problems


def test_anchors_within_the_limit_still_work() -> None:
    spec = load_spec(small_spec().replace("recipe: {epochs: 3, batch_size: 64}",
                                          "recipe: &r {epochs: 3, batch_size: 64}")
                     + "report: {title: t}\n")
    assert spec.target.train.recipe.epochs == 3


def test_validate_reports_a_deep_document_without_a_traceback(tmp_path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\nextra: " + "[" * 1000 + "]" * 1000 + "\n")
    result = CliRunner().invoke(app, ["validate", str(deep)])
    assert result.exit_code == 2
    assert "nested deeper than" in result.output and "Traceback" not in result.output
