"""Bring your own target: import data and models (ONNX, safetensors), run an exercise against
them through the real Target service (gRPC on loopback), and refuse every bad input with an
error that names the place, leaving the store unchanged."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from leakrange.artifacts import FolderStore
from leakrange.common.errors import InvalidArgument
from leakrange.datasets import load_dataset
from leakrange.imports.data_import import DataImport, import_data
from leakrange.imports.data_schema import DataSchema
from leakrange.imports.model_import import ModelImport, import_model
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from tests.fixtures.inprocess_backend import InProcessBackend

FAST = RunnerSettings(report_bootstrap=10, headline_bootstrap=10, check_interval=0.2)
ROWS, MEMBERS = 240, 120
SCHEMA = DataSchema(label="y", id="pid", classes=["a", "b"], numeric=["u", "v"],
                    standardise={"u": {"mean": 10.0, "std": 2.0}}, categorical={"c": ["p", "q"]})


def _write_csv(path: Path, rng: np.random.Generator) -> None:
    lines = ["pid,u,c,v,y"]
    for i in range(ROWS):
        lines.append(f"r{i},{rng.normal(10, 2):.3f},{'pq'[i % 2]},{rng.normal():.3f},"
                     f"{'ab'[int(rng.integers(2))]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _model(width: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(flatten=nn.Flatten(), fc1=nn.Linear(width, 16),
                                     relu1=nn.ReLU(), out=nn.Linear(16, 2)))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    csv = tmp_path / "clinic.csv"
    _write_csv(csv, rng)
    members = tmp_path / "members.txt"
    members.write_text("\n".join(f"r{i}" for i in range(0, ROWS, 2)) + "\n", encoding="utf-8")
    model = _model(4)  # u, c=p, c=q, v
    x = torch.randn(64, 4)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(20):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long()).backward()
        optimiser.step()
    save_file(dict(model.state_dict()), str(tmp_path / "model.safetensors"))
    torch.onnx.export(model.eval(), (torch.zeros(1, 4),), str(tmp_path / "model.onnx"),
                      dynamo=False, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return {"csv": csv, "members": members, "onnx": tmp_path / "model.onnx",
            "safetensors": tmp_path / "model.safetensors", "dir": tmp_path}


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


def _snapshot(store: FolderStore) -> set[str]:
    root = store._root  # the folder store's files: nothing else may change
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _import_clinic(store: FolderStore, files: dict[str, Path]) -> None:
    import_data(store, DataImport("clinic", files["csv"], SCHEMA, files["members"]))


def test_imported_data_resolves_by_name_with_the_declared_encoding(store, files) -> None:
    result = import_data(store, DataImport("clinic", files["csv"], SCHEMA, files["members"]))
    assert result.rows == ROWS and result.members == MEMBERS
    data = load_dataset("clinic", store)
    assert data.input_shape == (4,) and data.class_names == ["a", "b"]
    assert data.feature_names == ["u", "c=p", "c=q", "v"]
    first = files["csv"].read_text().splitlines()[1].split(",")
    assert data.x[0, 0] == pytest.approx((float(first[1]) - 10.0) / 2.0, abs=1e-5)
    assert data.x[0, 1:3].tolist() == [1.0, 0.0]  # row 1 has c = p
    # The same content imported again is the same blob (content hash).
    again = import_data(store, DataImport("clinic", files["csv"], SCHEMA, files["members"]))
    assert again.ref == result.ref


def _edit_csv(path: Path, row: int, column: int, value: str) -> None:
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[column] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda p: _edit_csv(p, 5, 1, "nan"), "clinic.csv: row 5, column u: missing value (NaN)"),
    (lambda p: _edit_csv(p, 7, 3, "abc"), "clinic.csv: row 7, column v: not a number"),
    (lambda p: _edit_csv(p, 9, 2, "z"), "clinic.csv: row 9, column c: category not listed"),
    (lambda p: _edit_csv(p, 4, 0, "r1"), "clinic.csv: row 4, column pid: duplicate id (first "
                                          "at row 2)"),
    (lambda p: p.write_text(p.read_text().replace("pid,u,c,v,y", "pid,u,c,w,y", 1)),
     "clinic.csv: column v: missing (the schema names it)"),
    (lambda p: p.write_text(p.read_text().replace("pid,u,c,v,y", "pid,u,c,v,y,extra", 1)
                            .replace("\n", ",1\n").replace("extra,1\n", "extra\n", 1)),
     "clinic.csv: column extra: not in the schema"),
])
def test_bad_data_is_refused_naming_file_row_and_column(store, files, edit, expected) -> None:
    _import_clinic(store, files)
    before = _snapshot(store)
    edit(files["csv"])
    with pytest.raises(InvalidArgument) as err:
        import_data(store, DataImport("clinic2", files["csv"], SCHEMA, files["members"]))
    assert str(err.value).startswith(expected)
    assert _snapshot(store) == before


def test_members_file_with_an_unknown_id_names_its_line(store, files) -> None:
    files["members"].write_text("r0\nr2\nnobody\n")
    with pytest.raises(InvalidArgument, match=r"members.txt: line 3: id not in the data set"):
        _import_clinic(store, files)
    assert _snapshot(store) == set()


def _bad_model(kind: str, directory: Path) -> Path:
    if kind == "pickle":  # a pickle renamed to look like a model (never loaded by anyone)
        path = directory / "evil.onnx"
        path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    elif kind == "zip bomb":  # 64 MiB of zeros that compress to ~64 KiB
        path = directory / "bomb.safetensors"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("data.pkl", b"\0" * (64 << 20))
    else:  # a sparse file larger than the 1 GiB import limit (takes no disk space)
        path = directory / "huge.onnx"
        with path.open("wb") as handle:
            handle.truncate((1 << 30) + 1)
    return path


@pytest.mark.parametrize(("kind", "expected"), [
    ("pickle", "evil.onnx: refused: a Python pickle; accepted: ONNX (.onnx) or safetensors"),
    ("zip bomb", "bomb.safetensors: refused: a zip archive"),
    ("huge", "huge.onnx: model file is larger than the import limit"),
])
def test_disguised_or_oversized_models_are_refused(store, files, kind, expected) -> None:
    _import_clinic(store, files)
    before = _snapshot(store)
    path = _bad_model(kind, files["dir"])
    fmt = "safetensors" if path.suffix == ".safetensors" else "onnx"
    with pytest.raises(InvalidArgument) as err:
        import_model(store, ModelImport(path, fmt, "clinic", spec="mlp-small"))
    assert str(err.value).startswith(expected)
    assert _snapshot(store) == before


@pytest.mark.parametrize("fmt", ["onnx", "safetensors"])
def test_a_model_of_the_wrong_input_width_is_refused_naming_both(store, files, fmt) -> None:
    _import_clinic(store, files)
    before = _snapshot(store)
    model = _model(6).eval()
    path = files["dir"] / f"wide.{fmt}"
    if fmt == "onnx":
        torch.onnx.export(model, (torch.zeros(1, 6),), str(path), dynamo=False)
    else:
        save_file(dict(model.state_dict()), str(path))
    with pytest.raises(InvalidArgument) as err:
        import_model(store, ModelImport(path, fmt, "clinic", spec='{"kind": "mlp", '
                                                                '"hidden": [16]}'))
    assert "model takes 6 inputs per record" in str(err.value)
    assert "data set clinic has" in str(err.value) and "4" in str(err.value)
    assert _snapshot(store) == before


def _exercise(fmt: str, files: dict[str, Path]) -> str:
    model = {"file": str(files[fmt]), "format": fmt}
    knowledge: dict[str, object] = {"architecture_known": fmt == "safetensors",
                                    "recipe_known": False, "data_fraction": 1.0}
    if fmt == "safetensors":
        model["spec"] = {"kind": "mlp", "hidden": [16]}
    else:
        knowledge["proxy_model"] = "mlp-small"
    return json.dumps({
        "name": f"byo-{fmt}", "seed": 0,
        "target": {"imported": {"data": "clinic", "model": model}},
        "threat_model": {"access": {"white_box": False, "output": "probabilities"},
                         "knowledge": knowledge},
        "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}],
        "audit": {"records_per_side": 50},
    })


@pytest.fixture
def orchestrator(store: FolderStore, tmp_path: Path) -> Iterator[Orchestrator]:
    o = Orchestrator(store, InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                     concurrency=1, runner_settings=FAST).start()
    yield o
    o.shutdown(10)


@pytest.mark.parametrize("fmt", ["onnx", "safetensors"])
def test_import_then_exercise_then_report(store, files, orchestrator, fmt) -> None:
    _import_clinic(store, files)
    record = orchestrator.submit(_exercise(fmt, files))
    final = orchestrator.wait(record.id, timeout=180)
    assert final.state == ExerciseState.SUCCEEDED, final.message
    report = json.loads(orchestrator.report(record.id, "json")[0])
    target = report["target"]
    assert target["model_kind"] == f"imported {fmt}"
    assert target["dataset"] == "clinic" and target["train_size"] == MEMBERS
    assert target["n_members"] == 50 and target["n_nonmembers"] == 50
    expected = "own architecture" if fmt == "safetensors" else "zoo proxy mlp [32]"
    assert expected in target["reference_model"]
    attack = report["attacks"][0]
    auc = attack["metrics"]["auc"]
    assert attack["status"] == "succeeded" and 0.0 <= auc["value"] <= 1.0, auc


def test_onnx_target_without_architecture_needs_a_proxy(files) -> None:
    from leakrange.orchestrator.spec_loading import SpecError, load_spec

    doc = json.loads(_exercise("onnx", files))
    doc["threat_model"]["knowledge"].pop("proxy_model")
    with pytest.raises(SpecError) as err:
        load_spec(json.dumps(doc))
    assert any(path.startswith("threat_model.knowledge") for path, _ in err.value.problems)
    assert os.path.exists(files["onnx"])


def test_an_onnx_mlp_graph_is_converted_to_its_zoo_architecture(store, files) -> None:
    import onnxruntime as ort

    _import_clinic(store, files)
    result = import_model(store, ModelImport(files["onnx"], "onnx", "clinic"))
    assert result.spec is not None and result.spec.kind == "mlp" and result.spec.hidden == [16]
    assert result.converted is not None
    from leakrange.models import model_from_bytes

    model, _spec, _meta = model_from_bytes(store.get_bytes(result.converted))
    x = load_dataset("clinic", store).x[:32]
    with torch.inference_mode():
        ours = model(torch.from_numpy(x)).numpy()
    theirs = ort.InferenceSession(str(files["onnx"])).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def _tanh_onnx(path: Path) -> Path:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    torch.onnx.export(model, (torch.zeros(1, 4),), str(path), dynamo=False,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return path


@pytest.mark.parametrize("graph", ["zoo mlp", "tanh"])
def test_white_box_onnx_needs_a_graph_the_range_converts(store, files, orchestrator,
                                                         graph) -> None:
    _import_clinic(store, files)
    doc = json.loads(_exercise("onnx", files))
    doc["threat_model"]["access"]["white_box"] = True
    doc["threat_model"]["knowledge"] = {"architecture_known": True, "recipe_known": False,
                                        "data_fraction": 1.0}
    if graph == "tanh":  # a proxy for reference models, but white-box needs the weights
        doc["target"]["imported"]["model"]["file"] = str(_tanh_onnx(files["dir"] / "t.onnx"))
        doc["threat_model"]["knowledge"]["proxy_model"] = "mlp-small"
    final = orchestrator.wait(orchestrator.submit(json.dumps(doc)).id, timeout=180)
    if graph == "tanh":
        assert final.state == ExerciseState.FAILED
        assert final.message.endswith("this model's graph is not one the range can convert "
                                      "to a zoo architecture, so it is black-box only")
        return
    assert final.state == ExerciseState.SUCCEEDED, final.message
    report = json.loads(orchestrator.report(final.id, "json")[0])
    assert report["target"]["reference_model"] == \
        "the model's own architecture (mlp, converted from its ONNX graph)"
    assert report["attacks"][0]["status"] == "succeeded"
