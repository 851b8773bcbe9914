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
def served(tmp_path: Path
           ) -> Iterator[tuple[orchestrator_pb2_grpc.OrchestratorStub, Path, str]]:
    data = tmp_path / "data"
    # A row an older orchestrator stored without today's bounds (a budget beyond int64).
    ExerciseDB.in_dir(data).create("old", small_spec(name="old", budget=10**30))
    settings = OrchestratorSettings(store=str(tmp_path / "store"), data_dir=data)
    server, orchestrator = build_orchestrator_server(
        settings, ServerOptions(port=0, grace_seconds=1.0),
        backend=InProcessBackend(FolderStore(tmp_path / "store")))
    server.start()
    yield orchestrator_pb2_grpc.OrchestratorStub(open_channel(server.address)), data, \
        server.address
    server.stop(1.0)
    orchestrator.shutdown(5)


def test_an_unconvertible_row_is_listed_not_fatal(served) -> None:
    stub, _, _ = served
    listed = stub.List(orchestrator_pb2.ListExercisesRequest()).exercises
    assert [e.name for e in listed] == ["old"]
    assert not listed[0].HasField("threat_model")


def test_submit_with_out_of_range_numbers_never_reaches_the_database(served) -> None:
    stub, data, _ = served
    with pytest.raises(grpc.RpcError) as err:
        stub.Submit(orchestrator_pb2.SubmitRequest(spec_yaml=small_spec(name="new",
                                                                         budget=10**30)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "threat_model.access.query_budget" in err.value.details()
    assert [r.name for r in ExerciseDB.in_dir(data).list_exercises()[0]] == ["old"]


@pytest.mark.parametrize("token", [str(10**25), "\u00b2", "\u0663", "-1", "abc"])
def test_hostile_page_tokens_are_invalid_argument(served, token: str) -> None:
    stub, _, _ = served
    with pytest.raises(grpc.RpcError) as err:
        stub.List(orchestrator_pb2.ListExercisesRequest(page_token=token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("size", [-5, 2**31 - 1])
def test_any_page_size_is_served(served, size: int) -> None:
    stub, _, _ = served
    assert len(stub.List(orchestrator_pb2.ListExercisesRequest(page_size=size)).exercises) == 1


def test_cli_list_json_and_an_unreachable_orchestrator(served) -> None:
    import json

    from typer.testing import CliRunner

    from leakrange.cli.main import app

    _, _, address = served
    runner = CliRunner()
    result = runner.invoke(app, ["list", "--json", "--endpoint", address])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.output)] == ["old"]
    # As a user runs it: the console script's error handling, not an exception.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "leakrange.cli.main", "list", "--endpoint",
                           "127.0.0.1:9"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "cannot reach the orchestrator at 127.0.0.1:9" in done.stderr
    assert "failed to connect" not in done.stderr and "Traceback" not in done.stderr


def test_cli_validate_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from leakrange.cli.main import app

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(small_spec())
    bad.write_text(small_spec(budget=-1))
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", "--json", str(good)])
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    refused = runner.invoke(app, ["validate", "--json", str(bad)])
    assert refused.exit_code == 2
    assert json.loads(refused.output)["problems"][0]["path"] == \
        "threat_model.access.query_budget"


def test_terminal_numbers_use_the_report_units() -> None:
    from leakrange.cli.exercise_commands import metric_text

    assert metric_text("tpr_at_1%_fpr", 0.0361) == "TPR@1% 3.6 %"
    assert metric_text("auc", 0.6012) == "AUC 0.601"
    assert metric_text("eval_accuracy", 0.9) == "eval_accuracy 90.0 %"
