"""``List`` over real gRPC: a stored row that no longer converts never fails the listing, and
hostile page tokens are INVALID_ARGUMENT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.client import open_channel
from leakrange.common.server import ServerOptions
from leakrange.orchestrator.service import OrchestratorSettings, build_orchestrator_server
from leakrange.orchestrator.state import ExerciseDB
from leakrange.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from tests.e2e.range_helpers import small_spec
from tests.fixtures.inprocess_backend import InProcessBackend


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[orchestrator_pb2_grpc.OrchestratorStub, Path]]:
    data = tmp_path / "data"
    # A row an older orchestrator stored without today's bounds (a budget beyond int64).
    ExerciseDB.in_dir(data).create("old", small_spec(name="old", budget=10**30))
    settings = OrchestratorSettings(store=str(tmp_path / "store"), data_dir=data)
    server, orchestrator = build_orchestrator_server(
        settings, ServerOptions(port=0, grace_seconds=1.0),
        backend=InProcessBackend(FolderStore(tmp_path / "store")))
    server.start()
    yield orchestrator_pb2_grpc.OrchestratorStub(open_channel(server.address)), data
    server.stop(1.0)
    orchestrator.shutdown(5)


def test_an_unconvertible_row_is_listed_not_fatal(served) -> None:
    stub, _ = served
    listed = stub.List(orchestrator_pb2.ListExercisesRequest()).exercises
    assert [e.name for e in listed] == ["old"]
    assert not listed[0].HasField("threat_model")


def test_submit_with_out_of_range_numbers_never_reaches_the_database(served) -> None:
    stub, data = served
    with pytest.raises(grpc.RpcError) as err:
        stub.Submit(orchestrator_pb2.SubmitRequest(spec_yaml=small_spec(name="new",
                                                                         budget=10**30)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "threat_model.access.query_budget" in err.value.details()
    assert [r.name for r in ExerciseDB.in_dir(data).list_exercises()[0]] == ["old"]


@pytest.mark.parametrize("token", [str(10**25), "\u00b2", "\u0663", "-1", "abc"])
def test_hostile_page_tokens_are_invalid_argument(served, token: str) -> None:
    stub, _ = served
    with pytest.raises(grpc.RpcError) as err:
        stub.List(orchestrator_pb2.ListExercisesRequest(page_token=token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("size", [-5, 2**31 - 1])
def test_any_page_size_is_served(served, size: int) -> None:
    stub, _ = served
    assert len(stub.List(orchestrator_pb2.ListExercisesRequest(page_size=size)).exercises) == 1
