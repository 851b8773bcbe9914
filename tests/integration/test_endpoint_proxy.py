"""``target.endpoint``: the range's Target service as an enforcing proxy in front of a real Open
Inference Protocol server, Seldon MLServer 1.7 (its own venv, built by ``make setup``) serving
an ONNX model through a small custom runtime (tests/fixtures/mlserver_runtime), on loopback,
over REST and gRPC. Nothing is mocked: the range's proxy client, the range's Target servicer
and MLServer all run for real.

What is checked: the adversary's answers are the server's answers shaped by the policy (label
only, rounding); the budget is charged before anything is forwarded, so a refused Predict never
reaches the server (its own log of records served proves it); the bearer token from the named
secret reaches the server and a wrong one is refused with a clear error; a model whose input
width does not match the data is refused before any exercise, naming both; an exercise through
the proxy ends in a report.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from leakrange.artifacts import FolderStore
from leakrange.common.errors import FailedPrecondition, ResourceExhausted, Unavailable
from leakrange.datasets import load_dataset
from leakrange.imports.data_import import DataImport, import_data
from leakrange.imports.data_schema import DataSchema
from leakrange.orchestrator.dataset_cache import DatasetCache
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.endpoint import EndpointTarget
from leakrange.orchestrator.target_kinds.endpoint_prepare import prepare_endpoint
from leakrange.target.client import TargetClient
from leakrange.target.policy import AccessPolicy
from tests.fixtures.inprocess_backend import InProcessBackend
from tests.fixtures.mlserver import MlServer, start_mlserver

ROWS, WIDTH, TOKEN = 160, 4, "proxy-test-token"
SECRET, SECRET_ENV = "clinic-endpoint", "LEAKRANGE_SECRET_CLINIC_ENDPOINT"
SCHEMA = DataSchema(label="y", id="pid", classes=["a", "b"], numeric=["u", "v", "w", "z"])
FAST = RunnerSettings(report_bootstrap=10, headline_bootstrap=10, check_interval=0.2)
PROTOCOLS = {"open-inference-rest": "rest_url", "open-inference-grpc": "grpc_url"}


def _write_data(folder: Path, width: int = WIDTH) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(ROWS, width)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=ROWS) > 0).astype(int)
    cols = ["u", "v", "w", "z", "t", "s"][:width]
    lines = [",".join(["pid", *cols, "y"])]
    lines += [",".join([f"r{i}", *(f"{v:.6f}" for v in x[i]), "ab"[y[i]]]) for i in range(ROWS)]
    csv = folder / "clinic.csv"
    csv.write_text("\n".join(lines) + "\n")
    members = folder / "members.txt"
    members.write_text("\n".join(f"r{i}" for i in range(0, ROWS, 2)) + "\n")
    return csv, members, x


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MlServer, Path]]:
    """MLServer with a small MLP (ONNX) trained on the members; bearer token required."""
    folder = tmp_path_factory.mktemp("endpoint")
    _csv, _members, x = _write_data(folder)
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(WIDTH, 32), relu=nn.ReLU(),
                                      out=nn.Linear(32, 2)))
    xt, yt = torch.from_numpy(x[::2]), torch.from_numpy((x[::2, 0] > 0).astype(np.int64))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(xt), yt).backward()
        optimiser.step()
    onnx_file = folder / "model.onnx"
    torch.onnx.export(model.eval(), (torch.zeros(1, WIDTH),), str(onnx_file), dynamo=False,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with start_mlserver(onnx_file, folder / "mlserver", input_width=WIDTH, num_classes=2,
                        token=TOKEN, also_probabilities="clinic-probs") as server:
        yield server, onnx_file


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


@pytest.fixture
def clinic(store: FolderStore, tmp_path: Path) -> Path:
    csv, members, _x = _write_data(tmp_path)
    import_data(store, DataImport("clinic", csv, SCHEMA, members))
    return tmp_path


def _target(server: MlServer, protocol: str, **extra: object) -> EndpointTarget:
    return EndpointTarget.model_validate({
        "protocol": protocol, "url": getattr(server, PROTOCOLS[protocol]), "model": server.model,
        "credentials_secret": SECRET, "data": "clinic", **extra})


def _prepare(store: FolderStore, target: EndpointTarget):
    return prepare_endpoint(target, PrepareContext(store, DatasetCache(store)))


def _reference_logits(onnx_file: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_the_proxy_answers_what_the_server_answers_within_the_budget(
        served, store, clinic, serve_target, monkeypatch, protocol) -> None:
    server, onnx_file = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    prepared = _prepare(store, _target(server, protocol))
    served_before = len(server.rows_served())
    policy = AccessPolicy(output="probabilities", rounding=3, query_budget=10)
    target = serve_target(store, prepared.model_ref, policy, tokens={"adv-token": "adversary"})
    x = load_dataset("clinic", store).x[:6]
    with TargetClient(target.address, "adv-token") as client:
        info = client.describe()
        assert info.model_kind == f"endpoint {protocol}" and info.input_shape == (WIDTH,)
        assert info.remaining_budget == 10
        out = client.predict(x)
        logits = _reference_logits(onnx_file, x)
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out.outputs, np.round(expected, 3), atol=1e-6)
        with pytest.raises(ResourceExhausted):  # RESOURCE_EXHAUSTED on the wire
            client.predict(load_dataset("clinic", store).x[6:12])  # 6 more: over the budget
    # The server saw the 6 records answered and nothing of the refused batch.
    assert server.rows_served()[served_before:] == [6]


def test_label_only_policy_hands_out_only_the_servers_argmax(
        served, store, clinic, serve_target, monkeypatch) -> None:
    server, onnx_file = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    prepared = _prepare(store, _target(server, "open-inference-grpc", max_batch=16))
    target = serve_target(store, prepared.model_ref, AccessPolicy(output="label"))
    x = load_dataset("clinic", store).x[:40]
    before = len(server.rows_served())
    with TargetClient(target.address) as client:
        out = client.predict(x)
    assert out.outputs.dtype == np.int64 and out.outputs.ndim == 1
    np.testing.assert_array_equal(out.outputs, _reference_logits(onnx_file, x).argmax(axis=1))
    assert server.rows_served()[before:] == [16, 16, 8]  # forwarded in calls of max_batch


def test_a_server_answering_probabilities_is_shaped_like_any_other(
        served, store, clinic, serve_target, monkeypatch) -> None:
    server, onnx_file = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    prepared = _prepare(store, _target(server, "open-inference-rest", model="clinic-probs",
                                       outputs="probabilities"))
    x = load_dataset("clinic", store).x[:8]
    logits = _reference_logits(onnx_file, x)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    target = serve_target(store, prepared.model_ref, AccessPolicy(output="topk", top_k=1))
    with TargetClient(target.address) as client:
        out = client.predict(x)
    np.testing.assert_array_equal(out.indices[:, 0], logits.argmax(axis=1))
    np.testing.assert_allclose(out.outputs[:, 0], expected.max(axis=1), atol=1e-5)


def test_tls_is_never_downgraded(served, store, clinic, monkeypatch) -> None:
    """https:// / grpcs:// to MLServer's plain ports: the handshake fails, nothing is sent in
    clear. (MLServer 1.7 has no TLS settings, so a verified handshake is not tested here.)"""
    server, _onnx = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    before = len(server.rows_served())
    rest = server.rest_url.replace("http://", "https://")
    with pytest.raises(Unavailable, match="cannot reach the endpoint"):
        _prepare(store, EndpointTarget.model_validate({
            "protocol": "open-inference-rest", "url": rest, "model": server.model,
            "credentials_secret": SECRET, "data": "clinic", "timeout_s": 5}))
    with pytest.raises(Unavailable, match="gRPC UNAVAILABLE"):
        _prepare(store, EndpointTarget.model_validate({
            "protocol": "open-inference-grpc", "url": server.grpc_url.replace("grpc://",
                                                                              "grpcs://"),
            "model": server.model, "credentials_secret": SECRET, "data": "clinic",
            "timeout_s": 5}))
    assert len(server.rows_served()) == before


def test_a_wrong_or_missing_token_is_refused_clearly(served, store, clinic, monkeypatch) -> None:
    server, _onnx = served
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(FailedPrecondition, match=SECRET_ENV):
        _prepare(store, _target(server, "open-inference-rest"))
    monkeypatch.setenv(SECRET_ENV, "not-the-token")
    with pytest.raises(Unavailable, match="HTTP 401: the endpoint refused the range's credentials"):
        _prepare(store, _target(server, "open-inference-rest"))
    # MLServer's gRPC binding maps a runtime's 401 to UNKNOWN (its STATUS_CODE_MAPPING has no
    # 401); the proxy reports the code it got and never the server's message.
    with pytest.raises(Unavailable, match=r"^target endpoint: inference: gRPC UNKNOWN$"):
        _prepare(store, _target(server, "open-inference-grpc"))


def test_a_model_of_another_input_width_is_refused_naming_both(
        served, tmp_path, monkeypatch) -> None:
    server, _onnx = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    store = FolderStore(tmp_path / "wide-store")
    wide = tmp_path / "wide"
    wide.mkdir()
    csv, members, _x = _write_data(wide, width=6)
    schema = DataSchema(label="y", id="pid", classes=["a", "b"],
                        numeric=["u", "v", "w", "z", "t", "s"])
    import_data(store, DataImport("clinic", csv, schema, members))
    with pytest.raises(Unavailable) as err:
        _prepare(store, _target(server, "open-inference-grpc"))
    assert "input input has shape [-1, 4]" in str(err.value)
    assert "data set clinic has records of shape [6]" in str(err.value)


def _exercise(server: MlServer, **access: object) -> str:
    return json.dumps({
        "name": "byo-endpoint", "seed": 0,
        "target": {"endpoint": {"protocol": "open-inference-grpc", "url": server.grpc_url,
                                "model": server.model, "credentials_secret": SECRET,
                                "data": "clinic"}},
        "threat_model": {"access": {"white_box": False, "output": "probabilities", **access},
                         "knowledge": {"architecture_known": False, "recipe_known": False,
                                       "data_fraction": 1.0, "proxy_model": "mlp-small"}},
        "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}],
        "audit": {"records_per_side": 40},
    })


def test_an_exercise_through_the_proxy_ends_in_a_report(
        served, store, clinic, tmp_path, monkeypatch) -> None:
    server, _onnx = served
    monkeypatch.setenv(SECRET_ENV, TOKEN)
    orchestrator = Orchestrator(store, InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                                concurrency=1, runner_settings=FAST).start()
    try:
        record = orchestrator.submit(_exercise(server))
        final = orchestrator.wait(record.id, timeout=180)
        assert final.state == ExerciseState.SUCCEEDED, final.message
        report = json.loads(orchestrator.report(record.id, "json")[0])
    finally:
        orchestrator.shutdown(10)
    target = report["target"]
    assert "behind an inference server (open-inference-grpc)" in target["model_kind"]
    assert "zoo proxy mlp" in target["reference_model"] and target["train_size"] == ROWS // 2
    auc = report["attacks"][0]["metrics"]["auc"]["value"]
    assert 0.0 <= auc <= 1.0


def test_spec_checks_name_every_impossible_endpoint(served) -> None:
    from leakrange.orchestrator.spec_loading import SpecError, load_spec

    server, _onnx = served
    doc = json.loads(_exercise(server, white_box=True))
    doc["target"]["endpoint"]["url"] = server.rest_url  # http:// for the gRPC binding
    doc["target"]["endpoint"]["ca_file"] = "/nonexistent/ca.pem"
    doc["threat_model"]["knowledge"].pop("proxy_model")
    doc["threat_model"]["knowledge"]["architecture_known"] = True  # still no architecture
    with pytest.raises(SpecError) as err:
        load_spec(json.dumps(doc))
    paths = {path for path, _ in err.value.problems}
    assert {"target.endpoint.url", "target.endpoint.ca_file", "threat_model.access.white_box",
            "threat_model.knowledge.proxy_model"} <= paths
    doc["target"]["endpoint"]["credentials_secret"] = "token: inline"  # a value, not a name
    with pytest.raises(SpecError):
        load_spec(json.dumps(doc))
