"""Query budgets belong to the exercise: a redeployed target (resume after a kill, cancel and
resume, an orchestrator restart) starts from what was already spent."""

from __future__ import annotations

import grpc
import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.client import open_channel
from leakrange.common.errors import IntegrityError
from leakrange.common.tensors import to_proto
from leakrange.target.budget import QueryBudget
from leakrange.target.budget_ledger import BudgetLedger
from leakrange.target.policy import AccessPolicy
from leakrange.v1 import target_pb2, target_pb2_grpc

TOKENS = {"t-a": "adv-a", "t-b": "adv-b"}


def _stub(server, token: str) -> target_pb2_grpc.TargetStub:
    return target_pb2_grpc.TargetStub(open_channel(server.address, token))


def test_spending_survives_a_redeployed_target(adult_target, serve_target, tmp_path) -> None:
    store = FolderStore(tmp_path / "store")
    store.put_bytes(adult_target.store.get_bytes(adult_target.ref), adult_target.ref.media_type)
    policy = AccessPolicy(query_budget=1000)
    x = adult_target.data.x[:700]

    first = serve_target(store, adult_target.ref, policy, tokens=TOKENS, exercise_id="ex-1")
    a = _stub(first, "t-a")
    assert a.Predict(target_pb2.PredictRequest(inputs=to_proto(x[:600]))).remaining_budget == 400
    first.stop(grace=0)  # killed: the next deployment must not start from zero

    second = serve_target(store, adult_target.ref, policy, tokens=TOKENS, exercise_id="ex-1")
    a, b = _stub(second, "t-a"), _stub(second, "t-b")
    assert a.Describe(target_pb2.DescribeRequest()).remaining_budget == 400
    with pytest.raises(grpc.RpcError) as err:
        a.Predict(target_pb2.PredictRequest(inputs=to_proto(x[:500])))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert a.Predict(target_pb2.PredictRequest(inputs=to_proto(x[:400]))).remaining_budget == 0
    # Each adversary keeps its own budget; another exercise starts afresh.
    assert b.Describe(target_pb2.DescribeRequest()).remaining_budget == 1000
    other = serve_target(store, adult_target.ref, policy, tokens=TOKENS, exercise_id="ex-2")
    assert _stub(other, "t-a").Describe(target_pb2.DescribeRequest()).remaining_budget == 1000


def test_ledger_is_written_before_the_charge_counts(tmp_path) -> None:
    store = FolderStore(tmp_path / "store")
    budget = QueryBudget(100, BudgetLedger(store, "ex-9"))
    assert budget.charge("adv", 30) == 70
    budget.refund("adv", 10)
    assert BudgetLedger(store, "ex-9").load() == {"adv": 20}
    assert QueryBudget(100, BudgetLedger(store, "ex-9")).remaining("adv") == 80


def test_ledger_refuses_bad_ids_and_corrupted_documents(tmp_path) -> None:
    store = FolderStore(tmp_path / "store")
    with pytest.raises(Exception, match="exercise_id"):
        BudgetLedger(store, "../groundtruth")
    store.put_manifest("budgets/ex-3", {"used": {"adv": -5}})
    with pytest.raises(IntegrityError, match="budget ledger is corrupted"):
        BudgetLedger(store, "ex-3").load()
