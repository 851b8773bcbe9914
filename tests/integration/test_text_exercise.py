"""A text exercise end to end with the orchestrator: the range trains a tiny LM with canaries
(target.text), deploys it behind a real Target service, runs membership, exposure and
extraction attacks through the real Attack service and scores each with its own scorer; the
report carries all three sections."""

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
from tests.fixtures.text import TINY_LM

pytestmark = pytest.mark.usefixtures("torch_one_thread")

FAST = RunnerSettings(report_bootstrap=50, headline_bootstrap=20, check_interval=0.2)


def exercise() -> str:
    return yaml.safe_dump({
        "name": "text-test", "seed": 0,
        "target": {"text": {
            "dataset": "healthtweets", "members": 120, "population": 480, "model": TINY_LM,
            "vocab_size": 512, "recipe": {"epochs": 16, "batch_size": 32, "lr": 0.006,
                                          "warmup_steps": 5},
            "canaries": {"digits": 6, "insertions": [0, 100], "candidates": 100},
            "extraction_min_tokens": 6}},
        "threat_model": {"access": {"output": "topk", "top_k": 50, "query_budget": 400_000},
                         "knowledge": {"data_fraction": 0.5}},
        "adversaries": [{"family": "mia", "name": "a", "attacks": [
            {"name": "lm_loss"}, {"name": "min_k_plus_plus"}, {"name": "canary_exposure"},
            {"name": "extraction", "params": {"samples": 30, "guesses": 15,
                                              "max_new_tokens": 24}}]}],
    })


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[Orchestrator]:
    store = FolderStore(tmp_path / "store")
    o = Orchestrator(store, InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                     concurrency=1, runner_settings=FAST).start()
    yield o
    o.shutdown(10)


def test_text_exercise_reports_membership_exposure_and_extraction(orchestrator) -> None:
    record = orchestrator.submit(exercise())
    final = orchestrator.wait(record.id, timeout=600)
    assert final.state == ExerciseState.SUCCEEDED, final.message
    report = json.loads(orchestrator.report(record.id, "json")[0])
    assert report["target"]["model_kind"].startswith("causal-lm")
    assert report["target"]["train_size"] == 120
    attacks = {a["attack"]: a for a in report["attacks"]}
    for a in attacks.values():
        assert a["status"] == "succeeded", a["message"]
    assert attacks["lm_loss"]["metrics"]["auc"]["ci_low"] > 0.6
    assert attacks["lm_loss"]["queries_used"] > 0  # tokens
    canaries = {c["insertions"]: c for c in attacks["canary_exposure"]["findings"]["canaries"]}
    assert canaries[100]["rank"] == 1 and canaries[0]["sampled_bits"] < 4
    assert attacks["canary_exposure"]["risk_level"] in ("high", "critical")
    recovered = {c["insertions"]: c["recovered"]
                 for c in attacks["extraction"]["findings"]["canaries"]}
    assert recovered == {0: False, 100: True}
    assert attacks["extraction"]["risk_level"] == "critical"
    html = orchestrator.report(record.id, "html")[0].decode()
    for heading in ("Does the model memorise planted secrets?",
                    "Can training text be pulled out of the model?", "Exposure (bits)"):
        assert heading in html
    # The adversary never received a canary's secret or which candidate is one.
    assert "canary" not in json.dumps(report["threat_model"])
