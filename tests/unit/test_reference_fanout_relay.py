"""The orchestrator's ``FanoutRelay``: what it answers an attack run's fan-out requests with.

The attack service is a recording stand-in here (the relay only calls its
``CompleteReferenceFanout``) and the Jobs are a stand-in ``ShardJobs``; the real service over
gRPC and the real ``ReferenceJobs`` on the emulated API server are exercised in
tests/integration/test_reference_fanout_rpc.py and test_reference_fanout_exercise.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.errors import Cancelled, Unavailable
from leakrange.orchestrator.kubernetes.reference_jobs import JobOutcome, reference_training_enabled
from leakrange.orchestrator.reference_fanout import ANSWER_MARGIN_S, MAX_SHARDS, FanoutRelay
from leakrange.v1 import attack_pb2
from tests.fixtures.inprocess_backend import InProcessBackend

TASK = "sha256:" + "a" * 64


class Answers:
    """Records the relay's ``CompleteReferenceFanout`` calls."""

    def __init__(self) -> None:
        self.calls: list[attack_pb2.CompleteReferenceFanoutRequest] = []
        self.done = threading.Event()

    def CompleteReferenceFanout(self, request: Any, timeout: float) -> Any:
        self.calls.append(request)
        self.done.set()
        return attack_pb2.CompleteReferenceFanoutResponse()


@dataclass
class Jobs:
    outcome: JobOutcome | BaseException
    timeout_s: float = 60.0
    runs: int = 0
    ran: threading.Event = field(default_factory=threading.Event)

    def run(self, task: str, shards: int) -> JobOutcome:
        self.runs += 1
        self.ran.set()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class Backend(InProcessBackend):
    def __init__(self, store: FolderStore, jobs: Jobs) -> None:
        super().__init__(store)
        self.jobs = jobs

    def reference_fanout(self, exercise_id: str, should_stop: Any) -> Any:
        return self.jobs


def _relay(tmp_path: Path, jobs: Jobs, stopped: bool = False) -> FanoutRelay:
    relay = FanoutRelay.open(Backend(FolderStore(tmp_path), jobs), "ex-1", "run-1",
                             lambda: stopped, lambda note: None)
    assert relay is not None
    return relay


def _answer(relay: FanoutRelay, task: str = TASK, shards: int = 3, *, expected: bool = True
            ) -> attack_pb2.CompleteReferenceFanoutRequest | None:
    """The relay's answer to one request; ``expected``: wait for it before the run's stream
    ends (``close``), as a run that waits for its answer does."""
    answers = Answers()
    relay.handle(attack_pb2.ReferenceFanoutRequest(task=task, shards=shards), answers)  # type: ignore[arg-type]
    if expected:
        answers.done.wait(10)
    relay.close()
    return answers.calls[0] if answers.calls else None


def test_a_backend_without_fan_out_gets_no_relay_and_so_no_offer(tmp_path: Path) -> None:
    backend = InProcessBackend(FolderStore(tmp_path))
    assert backend.reference_fanout("ex-1", lambda: False) is None
    assert FanoutRelay.open(backend, "ex-1", "run-1", lambda: False, print) is None


def test_the_offer_gives_the_jobs_deadline_plus_a_margin(tmp_path: Path) -> None:
    offer = _relay(tmp_path, Jobs(JobOutcome("j", frozenset(), frozenset(), True))).offer()
    assert offer.timeout_seconds == int(60 + ANSWER_MARGIN_S)
    assert offer.max_shards == MAX_SHARDS


def test_a_complete_job_is_answered_with_its_indexes(tmp_path: Path) -> None:
    jobs = Jobs(JobOutcome("j", frozenset({0, 1, 2}), frozenset(), True))
    answer = _answer(_relay(tmp_path, jobs))
    assert answer is not None and answer.run_id == "run-1" and answer.task == TASK
    assert list(answer.outcome.completed_indexes) == [0, 1, 2]
    assert answer.outcome.succeeded and answer.outcome.reason == ""


@pytest.mark.parametrize(("completed", "failed", "reason"), [
    ({0, 2}, {1}, "1 shard pods failed after their retries"),
    ({0}, set(), "the Job ended or ran past its deadline before every shard completed"),
])
def test_an_incomplete_job_is_answered_as_failed_with_a_reason(
        tmp_path: Path, completed: set[int], failed: set[int], reason: str) -> None:
    jobs = Jobs(JobOutcome("j", frozenset(completed | {7}), frozenset(failed), False))
    answer = _answer(_relay(tmp_path, jobs))
    assert answer is not None and not answer.outcome.succeeded
    assert list(answer.outcome.completed_indexes) == sorted(completed)  # 7: not of this request
    assert list(answer.outcome.failed_indexes) == sorted(failed)
    assert answer.outcome.reason == reason


@pytest.mark.parametrize(("task", "shards", "reason"), [
    ("sha256:" + "A" * 64, 3, "the request's task is not a task reference"),
    ("--set=evil", 3, "the request's task is not a task reference"),
    (TASK, 0, f"the request's shards must be between 1 and {MAX_SHARDS}"),
    (TASK, MAX_SHARDS + 1, f"the request's shards must be between 1 and {MAX_SHARDS}"),
])
def test_a_malformed_request_starts_no_job_and_is_answered_as_failed(
        tmp_path: Path, task: str, shards: int, reason: str) -> None:
    jobs = Jobs(JobOutcome("j", frozenset({0}), frozenset(), True))
    answer = _answer(_relay(tmp_path, jobs), task, shards)
    assert jobs.runs == 0
    assert answer is not None and not answer.outcome.succeeded
    assert answer.outcome.reason == reason


def test_a_job_the_api_refused_is_answered_with_the_reason(tmp_path: Path) -> None:
    jobs = Jobs(Unavailable("kubernetes API: create job failed (403 Forbidden)"))
    answer = _answer(_relay(tmp_path, jobs))
    assert answer is not None and not answer.outcome.succeeded
    assert answer.outcome.reason == "kubernetes API: create job failed (403 Forbidden)"


def test_an_unexpected_error_is_answered_without_its_detail(tmp_path: Path) -> None:
    answer = _answer(_relay(tmp_path, Jobs(RuntimeError("secret detail 1.5"))))
    assert answer is not None and not answer.outcome.succeeded
    assert "secret" not in answer.outcome.reason and "orchestrator log" in answer.outcome.reason


def test_no_answer_when_the_exercise_is_stopping(tmp_path: Path) -> None:
    cancelled = Jobs(Cancelled("reference training cancelled"))
    relay, answers = _relay(tmp_path, cancelled), Answers()
    relay.handle(attack_pb2.ReferenceFanoutRequest(task=TASK, shards=3), answers)  # type: ignore[arg-type]
    assert cancelled.ran.wait(10)
    relay.close()
    assert answers.calls == []
    done = JobOutcome("j", frozenset({0, 1, 2}), frozenset(), True)
    assert _answer(_relay(tmp_path, Jobs(done), stopped=True), expected=False) is None


def test_one_fan_out_at_a_time_per_run(tmp_path: Path) -> None:
    release = threading.Event()

    class SlowJobs(Jobs):
        def run(self, task: str, shards: int) -> JobOutcome:
            release.wait(10)
            return super().run(task, shards)

    relay = _relay(tmp_path, SlowJobs(JobOutcome("j", frozenset({0}), frozenset(), True)))
    first, second = Answers(), Answers()
    relay.handle(attack_pb2.ReferenceFanoutRequest(task=TASK, shards=1), first)  # type: ignore[arg-type]
    relay.handle(attack_pb2.ReferenceFanoutRequest(task=TASK, shards=1), second)  # type: ignore[arg-type]
    assert second.done.wait(10)
    assert second.calls[0].outcome.reason == "the range trains one fan-out per run at a time"
    release.set()
    assert first.done.wait(10) and first.calls[0].outcome.succeeded
    relay.close()


def test_closing_the_relay_stops_following_the_jobs(tmp_path: Path) -> None:
    relay = _relay(tmp_path, Jobs(JobOutcome("j", frozenset(), frozenset(), True)))
    assert not relay.should_stop()
    relay.close()
    assert relay.should_stop()


def test_reference_training_is_enabled_by_the_merged_values(tmp_path: Path) -> None:
    defaults = tmp_path / "exercise-values.yaml"
    defaults.write_text("store: {url: s3://b}\nreferenceTraining:\n  enabled: true\n  gpu: 1\n")
    assert reference_training_enabled([defaults])
    assert not reference_training_enabled([defaults, {"referenceTraining": {"enabled": False}}])
    assert not reference_training_enabled([{"referenceTraining": {"enabled": "true"}}])
    assert not reference_training_enabled([{"store": {}}])
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert not reference_training_enabled([empty])
