"""The extension points every family plugs into: the attack catalogue (what the attack services
publish, validated without attack code), target kinds and scorers as registries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leakrange.catalogue import AttackCatalogue, load_catalogue, schema_problems
from leakrange.catalogue.attack_catalogue import catalogue_text
from leakrange.common.attack_info import EXPOSURE, EXTRACTION, MEMBERSHIP, AttackInfo
from leakrange.common.errors import FailedPrecondition
from leakrange.orchestrator.spec import TargetSpec
from leakrange.orchestrator.spec_loading import SpecError, check_spec, load_spec, parse_spec
from leakrange.orchestrator.target_kinds import TARGET_KINDS, kind_names
from leakrange.scoring import SCORERS, AttackOutcome, scorer_for
from leakrange.v1 import attack_pb2
from tests.e2e.range_helpers import small_spec

ROOT = Path(__file__).resolve().parents[2]


def test_catalogue_is_what_the_attack_service_publishes(attack_server) -> None:
    published = attack_server.ListAttacks(attack_pb2.ListAttacksRequest()).attacks
    served = [AttackInfo.from_proto(info) for info in published]
    catalogue = load_catalogue()
    assert served == [catalogue.get("mia", info.name) for info in served]
    assert catalogue.names("mia") == [info.name for info in served]
    # Language-model attacks of the family also return canary exposure and extraction results.
    assert {info.result_kind for info in published} == {MEMBERSHIP, EXPOSURE, EXTRACTION}


def test_committed_catalogue_matches_the_registries() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from catalogue import TARGET, build_text  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert TARGET.read_text("utf-8") == build_text()
    assert catalogue_text(load_catalogue()) == build_text()


def test_orchestrator_and_validate_import_no_attack_code() -> None:
    code = (
        "import sys\n"
        "from leakrange.orchestrator.service import build_orchestrator\n"
        "from leakrange.orchestrator.runner import ExerciseRunner\n"
        "from leakrange.orchestrator.spec_loading import load_spec\n"
        "from leakrange.cli.main import app\n"
        "from tests.e2e.range_helpers import small_spec\n"
        "load_spec(small_spec(attacks='      - {name: lira, params: {reference_models: 2}}\\n'))\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('leakrange.attacks'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == ""


def test_params_are_checked_against_the_published_schema() -> None:
    schema = load_catalogue().get("mia", "lira").params_schema
    problems = dict(schema_problems(schema, {
        "reference_models": "many", "epochs": 0, "strategy": "fast", "bogus": 1,
    }))
    assert problems == {
        ("reference_models",): "must be an integer",
        ("epochs",): "must be >= 1",
        ("strategy",): 'must be one of "auto", "batched", "sequential"',
        ("bogus",): "unknown key",
    }
    # The cross-field rule of online LiRA is part of the schema, so the orchestrator sees it.
    assert schema_problems(schema, {"reference_models": 1}) == [
        (("reference_models",), "must be >= 2")]
    assert schema_problems(schema, {"reference_models": 1, "online": False}) == []


def _catalogue_with(result_kind: str) -> AttackCatalogue:
    return AttackCatalogue([AttackInfo(
        name="rebuild", family="mia", supported_outputs=("probabilities",),
        result_kind=result_kind, params_schema={"type": "object", "properties": {},
                                                "additionalProperties": False},
    )])


def test_attack_whose_results_the_target_cannot_score_is_refused() -> None:
    spec = parse_spec(small_spec(attacks="      - {name: rebuild}\n"))
    check_spec(spec, _catalogue_with(MEMBERSHIP))
    with pytest.raises(SpecError) as info:
        check_spec(spec, _catalogue_with("telepathy"))
    assert info.value.problems == [(
        "adversaries[0].attacks[0]",
        "attack 'rebuild' returns telepathy results, which a 'train' target cannot score",
    )]


def test_target_spec_has_one_field_per_registered_kind() -> None:
    # Every field but ``variants`` (a sweep over one kind's settings) is a target kind.
    assert set(TargetSpec.model_fields) - {"variants"} == {k.name for k in TARGET_KINDS}
    with pytest.raises(SpecError) as info:
        load_spec(small_spec().replace(small_spec().split("target:\n")[1].split(
            "threat_model")[0], "  {}\n"))
    assert ("target", f"give exactly one of {kind_names()}") in info.value.problems


def test_scorers_are_found_by_result_kind_only() -> None:
    assert [s.result_kind for s in SCORERS] == [MEMBERSHIP, "reconstruction", "attribute",
                                                "synthetic_risk", EXPOSURE, EXTRACTION,
                                                "record_reconstruction"]
    assert scorer_for(MEMBERSHIP).section.template.startswith("sections/")
    with pytest.raises(FailedPrecondition, match="no scorer for 'telepathy' results"):
        scorer_for("telepathy")
    member = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    report = scorer_for(MEMBERSHIP).attack_report(
        AttackOutcome("mia", "loss", scores=member.astype(float), is_member=member), 10, 0)
    assert report.result_kind == MEMBERSHIP and report.risk_level != "unknown"
