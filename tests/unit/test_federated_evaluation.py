"""``eval_every``: the global model evaluated on the range's holdout every N rounds (the
ServerApp's ``evaluate_fn`` runs ``federation/evaluation.py``; the real Flower run is in
tests/e2e/test_local_federated.py), recorded with the run and shown in the report."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from leakrange.datasets import load_dataset
from leakrange.federation.evaluation import (
    due,
    evaluate_state,
    read_evaluations,
    write_evaluation,
)
from leakrange.federation.local_sgd import train_locally
from leakrange.models import build_model, zoo_spec
from leakrange.orchestrator.target_kinds.federated import FederatedSpec, cache_key
from tests.fixtures.federated import EXERCISE, simulated_run


def test_eval_every_is_checked_against_rounds() -> None:
    with pytest.raises(ValidationError, match="eval_every"):
        FederatedSpec.model_validate({"dataset": "digits", "records_per_client": 1,
                                      "rounds": 2, "eval_every": 3})
    spec = FederatedSpec.model_validate({"dataset": "digits", "records_per_client": 1,
                                         "rounds": 4, "eval_every": 2})
    assert [r for r in range(0, 5) if due(r, spec.eval_every)] == [2, 4]
    assert not any(due(r, 0) for r in range(5))


def test_runs_cached_without_evaluation_keep_their_key() -> None:
    spec = FederatedSpec.model_validate({"dataset": "digits", "records_per_client": 1})
    before = spec.model_dump_json(exclude={"eval_every"})
    assert cache_key(spec) == hashlib.sha256(before.encode()).hexdigest()[:32]
    assert cache_key(spec.model_copy(update={"eval_every": 1})) != cache_key(spec)


def test_a_trained_global_model_scores_above_an_untrained_one_on_the_holdout() -> None:
    data = load_dataset("digits")
    spec = zoo_spec("mlp-small", data.input_shape, data.num_classes)
    torch.manual_seed(0)
    model = build_model(spec)
    x_hold, y_hold = data.x[-300:], data.y[-300:]
    untrained = evaluate_state(spec, model.state_dict(), x_hold, y_hold)
    train_locally(model, data.x[:600], data.y[:600], lr=0.5, batch_size=32, local_epochs=20,
                  seed=0, server_round=1, client=0)
    trained = evaluate_state(spec, model.state_dict(), x_hold, y_hold)
    assert untrained["accuracy"] < 0.3  # 10 classes: chance is 0.1
    assert trained["accuracy"] > 0.6 and trained["loss"] < untrained["loss"]
    assert trained["records"] == 300


def test_evaluations_round_trip_in_round_order(tmp_path: Path) -> None:
    for r in (4, 2):
        write_evaluation(tmp_path, r, {"accuracy": r / 10, "loss": 1.0, "records": 50.0})
    assert [e["round"] for e in read_evaluations(tmp_path)] == [2, 4]


def test_the_report_shows_the_global_models_holdout_accuracy() -> None:
    from leakrange.common.threat_model import ThreatModel
    from leakrange.report import build_report
    from leakrange.report.html import render_html

    run = simulated_run(clients=2, records_per_client=1, batch_size=1, rounds=2, eval_every=1)
    evaluation = [{"round": 1, "accuracy": 0.25, "loss": 2.1, "records": 200.0},
                  {"round": 2, "accuracy": 0.375, "loss": 1.9, "records": 200.0}]
    run = replace(run, facts={"evaluation": evaluation})
    view = run.adversary_view(EXERCISE, None)  # type: ignore[arg-type]
    info = run.report_info(view)
    assert info.test_accuracy == 0.375 and info.test_size == 200
    now = datetime.now(UTC)
    report = build_report(exercise_id="ex", name="fl", created=now, finished=now,
                          threat_model=ThreatModel(), target=info, outcomes=[], n_bootstrap=10)
    html = " ".join(render_html(report).split())
    assert "round 1: 25.0 % accuracy (loss 2.100); round 2: 37.5 % accuracy (loss 1.900)" in html
    assert "every 1 round on 200 records no client holds" in html
    no_eval = simulated_run(clients=2, records_per_client=1, batch_size=1, rounds=1)
    assert no_eval.report_info(view).federation["evaluation"] == []  # type: ignore[index]
