"""torch.export programs (.pt2) were evaluated as the torch-native white-box format and are
refused: their weights are raw bytes, but loading one runs code from the file. The first test
shows it on torch 2.13 (a crafted ``guards_code`` entry runs on the first forward call); if a
later torch stops doing that, it fails, and the refusal can be reconsidered. The others check
that the import path refuses such files (and pickles) by name and by content, saying why."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from leakrange.artifacts import FolderStore
from leakrange.common.errors import InvalidArgument
from leakrange.imports.model_import import ModelImport, import_model


@pytest.fixture(scope="module")
def program_bytes() -> bytes:
    """One small program saved by torch.export.save (exporting takes seconds: once)."""
    program = torch.export.export(torch.nn.Linear(4, 2), (torch.randn(3, 4),))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def _exported(blob: bytes, path: Path, guards_code: list[str] | None = None) -> Path:
    source = zipfile.ZipFile(io.BytesIO(blob))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if guards_code is not None and info.filename.endswith("models/model.json"):
                doc = json.loads(data)
                doc["guards_code"] = guards_code
                data = json.dumps(doc).encode()
            out.writestr(info, data)
    return path


def test_a_crafted_torch_export_program_runs_code_from_the_file(tmp_path, program_bytes) -> None:
    marker = tmp_path / "ran"
    path = _exported(program_bytes, tmp_path / "evil.pt2",
                     [f"__import__('pathlib').Path({str(marker)!r}).touch() is None"])
    module = torch.export.load(str(path)).module()  # what a loader of .pt2 files would do
    module(torch.randn(3, 4))
    assert marker.exists()


@pytest.mark.parametrize(("name", "reason"), [
    ("model.pt2", "refused: a torch.export program: loading one executes code from the file"),
    ("model.pt", "refused: a torch.save file (a pickle)"),
    ("model.joblib", "refused: a joblib file (a pickle)"),
])
def test_torch_native_and_pickle_files_are_refused_by_name(tmp_path, program_bytes, name,
                                                           reason) -> None:
    path = _exported(program_bytes, tmp_path / name) if name.endswith(".pt2") \
        else tmp_path / name
    if not path.exists():
        path.write_bytes(pickle.dumps([1.0], protocol=4))
    store = FolderStore(tmp_path / "store")
    before = sorted((tmp_path / "store").rglob("*"))
    with pytest.raises(InvalidArgument) as err:
        import_model(store, ModelImport(path, "onnx", "clinic"))
    assert str(err.value).startswith(f"{name}: {reason}")
    assert "accepted: ONNX (.onnx) or safetensors" in str(err.value)
    assert sorted((tmp_path / "store").rglob("*")) == before


def test_a_torch_export_program_renamed_to_onnx_is_refused_by_content(tmp_path,
                                                                     program_bytes) -> None:
    path = _exported(program_bytes, tmp_path / "model.onnx")
    with pytest.raises(InvalidArgument, match=r"^model.onnx: refused: a zip archive"):
        import_model(FolderStore(tmp_path / "store"), ModelImport(path, "onnx", "clinic"))
