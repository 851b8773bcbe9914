"""A defence sweep end to end: one exercise, two target variants (no defence; DP-SGD at a small
epsilon), one attack plan run against both through the real target and attack services on
loopback. DP-SGD pushes the strong attack to chance within its CI while the undefended variant
is clearly above chance; the data, split, audit set and reference models are shared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from leakrange.artifacts import FolderStore
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from tests.fixtures.inprocess_backend import InProcessBackend

FAST = RunnerSettings(report_bootstrap=100, headline_bootstrap=10, check_interval=0.2)

SPEC = {
    "name": "dp-sweep-test", "seed": 0,
    "target": {
        "train": {"dataset": "adult", "members": 250, "split_seed": 0, "model": "mlp-wide",
                  "recipe": {"lr": 4e-3, "epochs": 30, "batch_size": 32}},
        "variants": [
            {"name": "no DP", "recipe": {}},
            # DP-SGD recipes train fewer, larger steps (and it keeps the test fast).
            {"name": "epsilon 0.5", "recipe": {
                "epochs": 5, "batch_size": 64,
                "privacy": {"dp_sgd": {"epsilon": 0.5, "max_grad_norm": 1.0}}}},
        ],
    },
    # The recipe is not known to the adversary: it trains its reference models with the same
    # approximate recipe for both variants, so the second variant reuses them.
    "threat_model": {"access": {"white_box": False, "output": "probabilities"},
                     "knowledge": {"architecture_known": True, "recipe_known": False,
                                   "data_fraction": 0.03}},
    "adversaries": [{"family": "mia", "name": "a", "attacks": [
        {"name": "loss"},
        {"name": "rmia", "params": {"reference_models": 2, "epochs": 10, "z_samples": 300}}]}],
    "audit": {"subgroups": {"attribute": "sex", "fpr": 0.05}},
}


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[Orchestrator]:
    store = FolderStore(tmp_path / "store")
    o = Orchestrator(store, InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                     concurrency=1, runner_settings=FAST).start()
    yield o
    o.shutdown(10)


def test_dp_sgd_brings_the_strong_attack_to_chance_and_the_report_compares(orchestrator) -> None:
    record = orchestrator.submit(yaml.safe_dump(SPEC))
    final = orchestrator.wait(record.id, timeout=600)
    assert final.state == ExerciseState.SUCCEEDED, final.message
    report = json.loads(orchestrator.report(record.id, "json")[0])

    labels = [a["attack"] for a in report["attacks"]]
    assert labels == ["loss [no DP]", "rmia [no DP]", "loss [epsilon 0.5]",
                      "rmia [epsilon 0.5]"]
    assert all(a["status"] == "succeeded" for a in report["attacks"])
    sweep = report["sweep"]
    plain, dp = sweep["variants"]
    assert sweep["baseline"] == "no DP" and plain["defences"] == {}
    assert dp["defences"]["dp_sgd"]["epsilon"] <= 0.5 + 1e-6  # the accountant's epsilon
    # Undefended: the strongest attack is clearly above chance.
    assert plain["at_chance"] is False and plain["auc"]["ci_low"] > 0.55, plain
    # DP-SGD at epsilon 0.5: every interval of its strongest attack reaches chance.
    assert dp["at_chance"] is True, dp
    assert dp["auc"]["ci_low"] <= 0.5 <= dp["auc"]["ci_high"] + 0.02
    assert dp["strongest_attack"].endswith("[epsilon 0.5]")
    assert dp["test_accuracy"]["ci_low"] < dp["test_accuracy"]["value"]
    assert sweep["recommendation"].startswith("epsilon 0.5 keeps ")
    assert "to chance within its 95 % confidence interval" in sweep["recommendation"]
    # Both variants are attacked on the same audit set, and the DP audit ran on the DP one.
    by_attack = {a["attack"]: a for a in report["attacks"]}
    assert by_attack["rmia [no DP]"]["metrics"]["n_members"] == \
        by_attack["rmia [epsilon 0.5]"]["metrics"]["n_members"] == 250
    assert "dp_audit" in by_attack["rmia [epsilon 0.5]"]["findings"]
    assert "dp_audit" not in by_attack["rmia [no DP]"]["findings"]
    # Disparate vulnerability: TPR at 5 % FPR per sex, for every attack and each variant.
    groups = plain["subgroups"]
    assert groups["attribute"] == "sex" and [g["value"] for g in groups["groups"]] == \
        ["Female", "Male"]
    assert sum(g["n_members"] for g in groups["groups"]) == 250
    assert all("tpr" in g and g["resolvable"] for g in groups["groups"])

    # The reference models were trained once and reused by the second variant.
    records = {(a.adversary, a.attack): a for a in orchestrator.get(record.id).attacks}
    facts = {key: {f.name: f.value for f in a.facts} for key, a in records.items()}
    assert facts[("v0/a", "rmia")]["reference_cache_hit"] == 0.0
    assert facts[("v1/a", "rmia")]["reference_cache_hit"] == 1.0

    html = orchestrator.report(record.id, "html")[0].decode()
    assert "Which defence to use: risk against utility" in html
    assert "Disparate vulnerability: who is exposed, by sex" in html
