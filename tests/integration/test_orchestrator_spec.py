"""Exercise specs: the examples validate; every kind of bad spec is refused naming its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakrange.cli.main import app
from leakrange.orchestrator.spec_loading import SpecError, load_spec, load_spec_file
from tests.e2e.range_helpers import small_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = small_spec(
    attacks="      - {name: loss}\n      - {name: lira, params: {reference_models: 2}}\n"
)


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize("name", ["adult-mia.yaml", "mnist-mia.yaml"])
def test_examples_validate(name: str) -> None:
    spec = load_spec_file(EXAMPLES / name)
    assert spec.adversaries[0].family == "mia"
    assert {a.name for a in spec.adversaries[0].attacks} >= {"loss", "lira"}


def test_good_spec_parses_with_defaults() -> None:
    spec = load_spec(GOOD)
    assert spec.name == "small"
    assert spec.target.train is not None and spec.target.train.members == 300
    assert spec.target.train.recipe.epochs == 3
    assert spec.threat_model.knowledge.data_fraction == 0.02
    assert spec.adversary_names() == ["mia-0"]
    assert spec.families() == ["mia"]
    assert spec.report.html is True


BAD = [
    ("unknown top-level key", GOOD + "colour: red\n", "colour", "unknown key"),
    ("missing name", _replace(GOOD, "name: small\n", ""), "name", "required"),
    ("bad name", _replace(GOOD, "name: small", "name: 'a b/c'"), "name", "must be 1-64"),
    ("not YAML", "name: [unclosed\n", "spec", "not valid YAML (line"),
    ("not a mapping", "- a\n- b\n", "spec", "must be a YAML mapping"),
    ("target with both", _replace(GOOD, "target:\n", "target:\n  model: sha256:abc\n"),
     "target", "exactly one of endpoint, federated, imported, model, synthetic, text or train"),
    ("unknown data set", _replace(GOOD, "dataset: adult", "dataset: nosuch"),
     "target.train.dataset", "unknown data set"),
    ("unknown zoo model", _replace(GOOD, "model: mlp-small", "model: transformer"),
     "target.train.model", "unknown model"),
    ("too many members", _replace(GOOD, "members: 300", "members: 30000"),
     "target.train.members", "members + nonmembers must be <="),
    ("recipe out of range", _replace(GOOD, "epochs: 3", "epochs: 0"),
     "target.train.recipe.epochs", "must be >= 1"),
    ("unknown recipe key", _replace(GOOD, "epochs: 3", "epochz: 3"),
     "target.train.recipe.epochz", "unknown key"),
    ("bad output kind", _replace(GOOD, "output: probabilities", "output: weights"),
     "threat_model.access.output", "must be one of"),
    ("negative budget", small_spec(budget=-5), "threat_model.access.query_budget",
     "must be >= 0"),
    ("zero data fraction", _replace(GOOD, "data_fraction: 0.02", "data_fraction: 0"),
     "threat_model.knowledge.data_fraction", "must be > 0"),
    ("proxy missing", _replace(GOOD, "{data_fraction: 0.02}",
                               "{data_fraction: 0.02, architecture_known: false}"),
     "threat_model.knowledge", "proxy_model is required"),
    ("unknown family", _replace(GOOD, "family: mia", "family: telepathy"),
     "adversaries[0].family", "must be one of"),
    ("no attacks", small_spec(attacks="      []\n"), "adversaries[0].attacks",
     "at least 1 entries"),
    ("unknown attack", small_spec(attacks="      - {name: psychic}\n"),
     "adversaries[0].attacks[0].name", "unknown attack"),
    ("parameter out of range", _replace(GOOD, "reference_models: 2", "reference_models: 0"),
     "adversaries[0].attacks[1].params.reference_models", "must be >= 1"),
    ("unknown parameter", small_spec(attacks="      - {name: loss, params: {bogus: 1}}\n"),
     "adversaries[0].attacks[0].params.bogus", "unknown key"),
    ("threat model the attack cannot run under",
     _replace(small_spec(attacks="      - {name: lira}\n"), "output: probabilities",
              "output: label"),
     "adversaries[0].attacks[0]", "cannot run on 'label' outputs"),
    ("duplicate attacks", small_spec(attacks="      - {name: loss}\n      - {name: loss}\n"),
     "adversaries[0]", "attack names must be unique"),
    ("audit larger than the split", GOOD + "audit: {records_per_side: 301}\n",
     "audit.records_per_side", "must be <= members"),
]


@pytest.mark.parametrize(("case", "text", "path", "problem"), BAD, ids=[b[0] for b in BAD])
def test_bad_spec_names_its_path(case: str, text: str, path: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(text)
    problems = info.value.problems
    assert any(p == path and problem in msg for p, msg in problems), problems
    assert f"{path}: " in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    text = _replace(_replace(GOOD, "epochs: 3", "epochs: 0"), "reference_models: 2",
                    "reference_models: -1")
    with pytest.raises(SpecError) as info:
        load_spec(text)
    paths = [p for p, _ in info.value.problems]
    assert paths == ["target.train.recipe.epochs"]  # structure first: registries not consulted
    text = _replace(GOOD, "reference_models: 2", "reference_models: -1") + \
        "audit: {records_per_side: 999}\n"
    with pytest.raises(SpecError) as info:
        load_spec(text)
    paths = sorted(p for p, _ in info.value.problems)
    assert paths == ["adversaries[0].attacks[1].params.reference_models",
                     "audit.records_per_side"]


def test_error_messages_never_echo_values() -> None:
    secret = "sk-live-0123456789"
    with pytest.raises(SpecError) as info:
        load_spec(_replace(GOOD, "epochs: 3", f"epochs: '{secret}'"))
    assert secret not in str(info.value)
    assert "target.train.recipe.epochs: must be an integer" in str(info.value)


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = runner.invoke(app, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "ok: small (1 adversaries, 2 attacks)" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(_replace(GOOD, "reference_models: 2", "reference_models: 0"))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "adversaries[0].attacks[1].params.reference_models: must be >= 1" in result.output
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "spec: file not found" in result.output
