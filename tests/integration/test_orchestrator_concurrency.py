"""The orchestrator core with in-process services (real gRPC on loopback): many exercises at
once, cancel, what the adversary receives, and reuse of cached reference outputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.errors import FailedPrecondition
from leakrange.datasets import load_dataset
from leakrange.orchestrator.adversary_view import adversary_data
from leakrange.orchestrator.ground_truth import adversary_rows, build_audit, prepare_target
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.orchestrator.spec_loading import load_spec
from leakrange.v1 import attack_pb2
from tests.e2e.range_helpers import RecordingBackend, small_spec
from tests.fixtures.inprocess_backend import InProcessBackend

FAST = RunnerSettings(report_bootstrap=10, headline_bootstrap=10, check_interval=0.2)


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


def _orchestrator(store: FolderStore, tmp_path: Path, concurrency: int,
                  backend: object | None = None) -> Orchestrator:
    return Orchestrator(store, backend or InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                        concurrency=concurrency, runner_settings=FAST).start()


@pytest.fixture
def orchestrator(store: FolderStore, tmp_path: Path) -> Iterator[Orchestrator]:
    o = _orchestrator(store, tmp_path, concurrency=4)
    yield o
    o.shutdown(10)


def test_twenty_exercises_at_once_all_finish_once(orchestrator: Orchestrator) -> None:
    spec = small_spec(budget=700, extra="report: {html: false}\n")
    submitted = [orchestrator.submit(spec.replace("name: small", f"name: batch-{n}"))
                 for n in range(20)]
    ids = [r.id for r in submitted]
    assert len(set(ids)) == 20
    finals = [orchestrator.wait(eid, timeout=240) for eid in ids]
    assert [f.state for f in finals] == [ExerciseState.SUCCEEDED] * 20
    assert sorted(f.name for f in finals) == sorted(f"batch-{n}" for n in range(20))
    for final in finals:
        assert len(final.attacks) == 1 and final.attacks[0].status == "succeeded"
        facts = {m.name: m.value for m in final.attacks[0].facts}
        assert facts["queries"] == 600  # 300 members + 300 non-members, within the budget
        assert final.attempts == 1
        assert final.report_json is not None and final.report_html is None
    listed, token = orchestrator.list_exercises()
    assert token == "" and sorted(r.id for r in listed) == sorted(ids)
    assert orchestrator.db.count_by_state()[ExerciseState.SUCCEEDED] == 20


def test_cancel_a_queued_exercise(store: FolderStore, tmp_path: Path) -> None:
    o = _orchestrator(store, tmp_path, concurrency=1)
    try:
        first = o.submit(small_spec(name="first"))
        second = o.submit(small_spec(name="second"))
        cancelled = o.cancel(second.id)
        assert cancelled.state == ExerciseState.CANCELLED
        assert o.wait(first.id, timeout=120).state == ExerciseState.SUCCEEDED
        assert o.get(second.id).state == ExerciseState.CANCELLED
        assert o.get(second.id).attacks == ()
        with pytest.raises(FailedPrecondition, match="succeeded"):
            o.cancel(first.id)
        with pytest.raises(FailedPrecondition, match="no json report"):
            o.report(second.id)
    finally:
        o.shutdown(10)


def test_adversary_receives_no_membership_labels(store: FolderStore, tmp_path: Path) -> None:
    recorder = RecordingBackend(InProcessBackend(store))
    o = _orchestrator(store, tmp_path, concurrency=1, backend=recorder)
    try:
        record = o.submit(small_spec(name="wire"))
        assert o.wait(record.id, timeout=120).state == ExerciseState.SUCCEEDED
    finally:
        o.shutdown(10)
    assert len(recorder.run_requests) == 1
    request = attack_pb2.RunRequest.FromString(recorder.run_requests[0])
    # Everything the adversary gets: no field of the request carries membership.
    assert set(request.data.audit.tensors) == {"x", "y"}
    assert set(request.data.population.tensors) == {"x", "y"}
    populated = {f.name for f, _ in request.data.ListFields()}
    assert populated == {"audit", "population", "dataset", "model_spec_json", "recipe_json"}
    assert "member" not in request.params_json and "split" not in request.data.recipe_json

    # The range side: the same audit set, and its order mixes members and non-members.
    spec = load_spec(small_spec(name="wire"))
    target = prepare_target(store, spec.target)
    audit = build_audit(target.split, None, spec.seed)
    data = load_dataset("adult")
    audit_x = np.frombuffer(request.data.audit.tensors["x"].data, "<f4").reshape(600, -1)
    assert np.array_equal(audit_x, data.x[audit.rows])
    assert audit.is_member.sum() == 300
    first_half = audit.is_member[:300].mean()
    assert 0.35 < first_half < 0.65  # shuffled, not members-then-non-members
    runs = np.count_nonzero(np.diff(audit.is_member.astype(int)))
    assert runs > 200  # about 300 switches expected for a random order
    # The adversary's own data never includes audit records unless the threat model says so.
    population = adversary_rows(target.split, spec.threat_model.knowledge, spec.seed)
    assert not np.isin(population, audit.rows).any()
    view = adversary_data(data, audit.rows, population, target.spec, target.recipe,
                          spec.threat_model)
    assert view.audit == request.data.audit


def test_rerun_reuses_cached_reference_outputs(orchestrator: Orchestrator) -> None:
    attacks = "      - {name: lira, params: {reference_models: 2, epochs: 1}}\n"
    first = orchestrator.submit(small_spec(name="lira-a", attacks=attacks))
    assert orchestrator.wait(first.id, timeout=120).state == ExerciseState.SUCCEEDED
    second = orchestrator.submit(small_spec(name="lira-a", attacks=attacks))
    final = orchestrator.wait(second.id, timeout=120)
    assert final.state == ExerciseState.SUCCEEDED
    facts = [{m.name: m.value for m in orchestrator.get(e).attacks[0].facts}
             for e in (first.id, second.id)]
    assert facts[0]["reference_cache_hit"] == 0.0
    assert facts[1]["reference_cache_hit"] == 1.0
    scores = [orchestrator.get(e).attacks[0].scores for e in (first.id, second.id)]
    assert scores[0] == scores[1]  # same request -> the same stored score vector


def test_watch_streams_phases_and_results(orchestrator: Orchestrator) -> None:
    record = orchestrator.submit(small_spec(name="watched"))
    events = list(orchestrator.watch(record.id))  # ends when the exercise is final
    states = [e.state for e in events if e.state is not None]
    assert states[0] == ExerciseState.QUEUED and states[-1] == ExerciseState.SUCCEEDED
    phases = {e.progress.phase for e in events if e.progress is not None}
    assert {"target_training", "deploying", "querying", "queries", "report"} <= phases
    finished = [e.attack_finished for e in events if e.attack_finished is not None]
    assert [a.attack for a in finished] == ["loss"]
    auc = {m.name: m for m in finished[0].metrics}["auc"]
    assert 0.0 <= auc.value <= 1.0 and auc.ci_low is not None
