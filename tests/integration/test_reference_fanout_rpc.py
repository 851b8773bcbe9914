"""The attack service's half of reference fan-out, through the generated stubs on loopback.

The test plays the orchestrator: it sends a RunRequest with a ``reference_fanout`` offer, reads
the ``ReferenceFanoutRequest`` event from the Run stream, trains the shards with the code a Job
pod runs (``leakrange reference-shard`` against the attack service's store) and answers with
``CompleteReferenceFanout``; or it does not answer (timeout), cancels, or sends bad answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from leakrange.artifacts import FolderStore
from leakrange.attacks.range_fanout import FanoutOutcome
from leakrange.attacks.service import build_attack_server
from leakrange.cli.reference_shard import reference_shard
from leakrange.common.client import open_channel
from leakrange.common.errors import InvalidArgument
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import from_proto
from leakrange.v1 import attack_pb2, attack_pb2_grpc
from tests.fixtures.attacks import make_audit, run_request

PARAMS = {"reference_models": 2, "epochs": 1}
TASK = "sha256:" + "0" * 64


class AttackService:
    """An mia attack service on its own store. It uses the cores of this process, as the
    shard code run here does: reference logits are bit-identical only between trainers with the
    same device and worker split (cores), as between the attack and Job pods of one shape."""

    def __init__(self, root: Path) -> None:
        self.store = FolderStore(root)
        self.server = build_attack_server(self.store, "mia", ServerOptions(port=0))
        self.server.start()
        self.stub = attack_pb2_grpc.AttackStub(open_channel(self.server.address))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AttackService]:
    svc = AttackService(tmp_path / "adversary-store")
    yield svc
    svc.server.stop(grace=0)


@pytest.fixture
def target_address(adult_target: Any, serve_target: Any) -> str:
    return serve_target(adult_target.store, adult_target.ref).address


def _request(adult_target, address: str, run_id: str, *, timeout_s: int = 0,
             max_shards: int = 0, offer: bool = True) -> attack_pb2.RunRequest:
    request = run_request(adult_target, make_audit(adult_target, 40), address, "lira", PARAMS,
                          seed=3, run_id=run_id)
    if offer:
        request.reference_fanout.CopyFrom(attack_pb2.ReferenceFanoutOffer(
            timeout_seconds=timeout_s, max_shards=max_shards))
    return request


def _complete(stub: attack_pb2_grpc.AttackStub, run_id: str, task: str, *,
              completed: list[int] | None = None, failed: list[int] | None = None,
              succeeded: bool = True, reason: str = "") -> None:
    stub.CompleteReferenceFanout(attack_pb2.CompleteReferenceFanoutRequest(
        run_id=run_id, task=task, outcome=attack_pb2.ReferenceFanoutOutcome(
            completed_indexes=completed or [], failed_indexes=failed or [],
            succeeded=succeeded, reason=reason)))


def _refused(stub: attack_pb2_grpc.AttackStub, run_id: str, task: str,
             **outcome: object) -> grpc.StatusCode:
    """The status code ``CompleteReferenceFanout`` refuses this answer with."""
    with pytest.raises(grpc.RpcError) as err:
        _complete(stub, run_id, task, **outcome)  # type: ignore[arg-type]
    return err.value.code()


def _result(events: list[attack_pb2.RunEvent]) -> tuple[np.ndarray, dict[str, float]]:
    [result] = [e.result for e in events if e.HasField("result")]
    return from_proto(result.scores), {m.name: m.value for m in result.metrics}


def test_the_run_asks_on_its_stream_waits_and_resumes_with_the_shards_the_range_stored(
        adult_target: Any, target_address: str, service: AttackService, tmp_path: Path) -> None:
    stub = service.stub
    events: list[attack_pb2.RunEvent] = []
    for event in stub.Run(_request(adult_target, target_address, "fan-1", timeout_s=600)):
        events.append(event)
        if event.HasField("reference_fanout"):
            ask = event.reference_fanout
            assert ask.task.startswith("sha256:") and ask.shards == 1
            # Wrong answers are refused and leave the run waiting.
            assert _refused(stub, "fan-1", TASK) == grpc.StatusCode.NOT_FOUND
            assert _refused(stub, "fan-1", ask.task, completed=[1]) \
                == grpc.StatusCode.INVALID_ARGUMENT  # index beyond the request's shards
            for index in range(ask.shards):  # what each Job pod runs
                reference_shard(task=ask.task, index=index, store=str(service.store.root))
            _complete(stub, "fan-1", ask.task, completed=[0])
            # Answered once: a second answer finds nothing waiting.
            assert _refused(stub, "fan-1", ask.task, completed=[0]) \
                == grpc.StatusCode.NOT_FOUND
    scores, facts = _result(events)
    assert facts["reference_shards_remote"] == 1.0 and facts["reference_shards_local"] == 0.0
    assert facts["reference_cache_hit"] == 0.0

    # The same run without the offer, on a store of its own: no request, the same scores.
    local = AttackService(tmp_path / "local-store")
    try:
        local_events = list(local.stub.Run(_request(adult_target, target_address, "loc-1",
                                                    offer=False)))
    finally:
        local.server.stop(grace=0)
    assert not any(e.HasField("reference_fanout") for e in local_events)
    local_scores, local_facts = _result(local_events)
    assert np.array_equal(scores, local_scores)
    assert "reference_shards_remote" not in local_facts


def test_a_range_that_does_not_answer_in_time_leaves_the_training_to_the_attack(
        adult_target: Any, target_address: str, service: AttackService) -> None:
    events = list(service.stub.Run(_request(adult_target, target_address, "slow",
                                            timeout_s=1)))
    asks = [e.reference_fanout for e in events if e.HasField("reference_fanout")]
    assert len(asks) == 1
    _, facts = _result(events)
    assert facts["reference_shards_remote"] == 0.0 and facts["reference_shards_local"] == 1.0
    logs = [e.log.message for e in events if e.HasField("log")]
    assert any("did not finish the reference fan-out within 1 s" in m for m in logs)
    assert any("did not come back from the fan-out; training them here" in m for m in logs)
    # The run is over: a late answer finds no run.
    assert _refused(service.stub, "slow", asks[0].task) \
        == grpc.StatusCode.NOT_FOUND


def test_a_failed_fan_out_is_trained_by_the_attack_and_the_log_gives_the_reason(
        adult_target: Any, target_address: str, service: AttackService) -> None:
    events: list[attack_pb2.RunEvent] = []
    for event in service.stub.Run(_request(adult_target, target_address, "fail")):
        events.append(event)
        if event.HasField("reference_fanout"):
            _complete(service.stub, "fail", event.reference_fanout.task, failed=[0],
                      succeeded=False, reason="1 shard pods failed after their retries")
    _, facts = _result(events)
    assert facts["reference_shards_remote"] == 0.0 and facts["reference_shards_local"] == 1.0
    logs = [e.log.message for e in events if e.HasField("log")]
    assert any("reference fan-out failed (1 shard pods failed after their retries; 1 of 1"
               in m for m in logs)


def test_cancel_during_a_fan_out_ends_the_run_cancelled(
        adult_target: Any, target_address: str, service: AttackService) -> None:
    stream = service.stub.Run(_request(adult_target, target_address, "stop-me", timeout_s=600))
    task = ""
    with pytest.raises(grpc.RpcError) as err:
        for event in stream:
            if event.HasField("reference_fanout"):
                task = event.reference_fanout.task
                assert service.stub.Cancel(attack_pb2.CancelRunRequest(run_id="stop-me")).cancelled
    assert err.value.code() == grpc.StatusCode.CANCELLED
    assert task
    assert _refused(service.stub, "stop-me", task) == grpc.StatusCode.NOT_FOUND


def test_more_shards_than_the_range_takes_are_trained_by_the_attack(
        adult_target: Any, target_address: str, service: AttackService) -> None:
    request = _request(adult_target, target_address, "big", timeout_s=600)
    request.params_json = '{"reference_models": 65, "epochs": 1}'  # two shards
    request.reference_fanout.max_shards = 1
    events = list(service.stub.Run(request))
    assert not any(e.HasField("reference_fanout") for e in events)
    _, facts = _result(events)
    assert facts["reference_shards_local"] == 2.0
    logs = [e.log.message for e in events if e.HasField("log")]
    assert any("trains at most 1 reference shards per request, not 2" in m for m in logs)


def test_a_completion_for_an_unknown_run_is_not_found(service: AttackService) -> None:
    err = _refused(service.stub, "never-started", TASK, completed=[0])
    assert err == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(("change", "field"), [
    ({"run_id": ""}, "run_id"),
    ({"task": "sha256:" + "Z" * 64}, "task"),
    ({"task": "secret-record-1.5,2.5"}, "task"),
    ({"completed": [0, 0]}, "outcome.completed_indexes"),
    ({"completed": [-1]}, "outcome.completed_indexes"),
    ({"completed": [0], "failed": [0]}, "outcome.failed_indexes"),
    ({"failed": [1], "succeeded": True}, "outcome.succeeded"),
    ({"reason": "x" * 201}, "outcome.reason"),
])
def test_malformed_completions_are_invalid_argument_naming_the_field_without_the_data(
        service: AttackService, change: dict, field: str) -> None:
    args = {"run_id": "some-run", "task": TASK, "completed": None, "failed": None,
            "succeeded": True, "reason": "", **change}
    with pytest.raises(grpc.RpcError) as err:
        _complete(service.stub, args.pop("run_id"), args.pop("task"), **args)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    assert details.startswith(field)
    assert "secret" not in details and "x" * 20 not in details and "Z" * 8 not in details


@pytest.mark.parametrize(("offer", "field"), [
    ({"timeout_seconds": -1}, "reference_fanout.timeout_seconds"),
    ({"max_shards": -2}, "reference_fanout.max_shards"),
])
def test_a_malformed_offer_is_invalid_argument(
        adult_target: Any, target_address: str, service: AttackService, offer: dict,
        field: str) -> None:
    request = _request(adult_target, target_address, "bad-offer")
    request.reference_fanout.CopyFrom(attack_pb2.ReferenceFanoutOffer(**offer))
    with pytest.raises(grpc.RpcError) as err:
        list(service.stub.Run(request))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith(field)


def test_outcomes_are_checked_before_they_wake_a_run() -> None:
    ok = FanoutOutcome.checked([2, 0], [1], False, "")
    assert ok.completed == {0, 2} and ok.failed == {1}
    with pytest.raises(InvalidArgument):
        FanoutOutcome.checked([0], [0], False, "")


def test_an_answer_before_the_wait_starts_is_not_lost() -> None:
    """The request is registered before its event is emitted: an answer that arrives while
    the event is still on its way wakes the run."""
    from leakrange.attacks.range_fanout import FanoutOffer, PendingFanouts

    pending = PendingFanouts()
    cancel = threading.Event()
    logs: list[str] = []

    def answer_at_once(task: str, shards: int) -> None:
        pending.complete("r", task, FanoutOutcome.checked(range(shards), [], True, ""))

    fanout = pending.open("r", FanoutOffer(timeout_s=30.0), emit=answer_at_once,
                          log=logs.append, cancel=cancel)
    fanout.train_shards(TASK, 3)
    assert logs == []  # answered, no timeout warning
