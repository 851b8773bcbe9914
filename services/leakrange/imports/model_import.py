"""``leakrange import-model`` / ``target.imported.model``: a user's model into the store.

The model is checked against the data set it was trained on before anything is written: input
width and number of classes (naming both sides). A safetensors model becomes a range model
(spec in its header: white-box ready); an ONNX model is stored as is and served by onnxruntime,
black-box. Either way ``groundtruth/<model sha>`` gets the split built from the data set's
membership, exactly as for a model the range trained. An ONNX graph that is a zoo ``mlp``
(``onnx_architecture``) is also stored converted: reference models can use its own
architecture and a white-box exercise serves the converted weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors

from leakrange.artifacts import MEDIA_MODEL, ArtifactRef, ArtifactStore
from leakrange.common.errors import InvalidArgument
from leakrange.datasets import Dataset, Split, load_dataset
from leakrange.imports.data_import import imported_members, member_rows_from_file
from leakrange.imports.limits import ImportLimits, checked_file
from leakrange.imports.model_formats import (
    ACCEPTED_MODELS,
    ModelFormat,
    refuse_by_name,
    sniff_model,
)
from leakrange.imports.onnx_architecture import zoo_model_of
from leakrange.models import ModelSpec, build_model, model_to_bytes, spec_from_name_or_json
from leakrange.models.onnx_model import MEDIA_ONNX, OnnxModel
from leakrange.target.training import groundtruth_manifest

IMPORTED_PREFIX = "imported-models"


@dataclass(frozen=True)
class ModelImport:
    file: Path
    format: ModelFormat
    data: str
    spec: str | None = None  # zoo name or JSON (safetensors only)
    members_file: Path | None = None
    adversary_share: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class ImportedModel:
    ref: ArtifactRef
    format: ModelFormat
    spec: ModelSpec | None  # ONNX: the zoo architecture it was converted to, else None
    split: Split
    converted: ArtifactRef | None = None  # ONNX converted to a range model (white-box ready)


def imported_manifest_name(sha: str) -> str:
    return f"{IMPORTED_PREFIX}/{sha}"


def import_model(store: ArtifactStore, request: ModelImport,
                 limits: ImportLimits | None = None) -> ImportedModel:
    limits = limits or ImportLimits()
    name = request.file.name
    refuse_by_name(name)  # before reading: a pickle or torch.export program by its name
    checked_file(request.file, limits, "model")
    blob = request.file.read_bytes()
    fmt = sniff_model(blob[:64], request.format, name)
    data = load_dataset(request.data, store)
    split = membership_split(store, data, request.members_file, request.adversary_share,
                             request.seed, limits)
    spec: ModelSpec | None = None
    converted: ArtifactRef | None = None
    record: dict[str, object] = {"format": fmt, "dataset": data.name,
                                 "class_names": data.class_names}
    if fmt == "safetensors":
        spec, stored = _safetensors_model(blob, request, data)
        ref = store.put_bytes(stored, MEDIA_MODEL)
    else:
        onnx_model = OnnxModel.from_bytes(blob, name)
        onnx_model.check_against(data, data.x[:2])
        zoo = zoo_model_of(blob, onnx_model, data)  # a zoo mlp equal to the graph, or None
        ref = store.put_bytes(blob, MEDIA_ONNX)
        if zoo is not None:
            spec = zoo[0]
            converted = store.put_bytes(model_to_bytes(zoo[1], spec, {
                "dataset": data.name, "class_names": "\x1f".join(data.class_names),
                "imported": "onnx-converted"}), MEDIA_MODEL)
            record["converted"] = {"model": converted.uri, "spec": spec.model_dump()}
    store.put_manifest(imported_manifest_name(ref.sha256), record)
    store.put_manifest(groundtruth_manifest(ref.sha256), {
        "dataset": data.name, "split": split.to_json(), "seed": request.seed,
        "imported": fmt,
    })
    return ImportedModel(ref, fmt, spec, split, converted)


def membership_split(store: ArtifactStore, data: Dataset, members_file: Path | None,
                     adversary_share: float, seed: int, limits: ImportLimits) -> Split:
    """Members as the user declared them; the non-members are split (seeded) between the audit
    set and the pool the adversary may draw from (``adversary_share`` of them)."""
    from leakrange.datasets import is_builtin

    if is_builtin(data.name):
        raise InvalidArgument("data", "give an imported data set (leakrange import-data)")
    rows, ids = imported_members(store, data.name)
    if members_file is not None:
        rows = member_rows_from_file(members_file, ids, limits)
    if rows is None:
        raise InvalidArgument("members", "the data set has no membership; give a members file")
    rest = np.setdiff1d(np.arange(len(data), dtype=np.int64), rows)
    if not 0.0 <= adversary_share < 1.0:
        raise InvalidArgument("adversary_share", "must be in [0, 1)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1B0]))
    order = rng.permutation(rest)
    n_adv = round(adversary_share * len(order))
    n_adv = min(n_adv, len(order) - 1)
    return Split(members=np.sort(rows), nonmembers=np.sort(order[n_adv:]),
                 adversary=np.sort(order[:n_adv]))


def _safetensors_model(blob: bytes, request: ModelImport,
                       data: Dataset) -> tuple[ModelSpec, bytes]:
    name = request.file.name
    if request.spec is None:
        raise InvalidArgument("spec", f"a safetensors model needs a zoo model spec; {name}")
    try:
        tensors = load_tensors(blob)
    except SafetensorError:
        raise InvalidArgument(name, f"corrupt safetensors file; {ACCEPTED_MODELS}") from None
    spec = spec_from_name_or_json(request.spec, list(data.input_shape), data.num_classes)
    model = build_model(spec)
    want = model.state_dict()
    _check_width(tensors, want, data, name)
    if set(tensors) != set(want):
        missing = sorted(set(want) - set(tensors)) or sorted(set(tensors) - set(want))
        raise InvalidArgument(name, f"tensor names do not match the spec (first: {missing[0]})")
    for key, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(want[key].shape):
            raise InvalidArgument(name, f"tensor {key} does not have the spec's shape")
        if not tensor.is_floating_point() or not torch.isfinite(tensor).all():
            raise InvalidArgument(name, f"tensor {key} must be finite floating point")
    model.load_state_dict({k: t.float() for k, t in tensors.items()}, strict=True)
    return spec, model_to_bytes(model.eval(), spec, {
        "dataset": data.name, "class_names": "\x1f".join(data.class_names),
        "imported": "safetensors",
    })


def _check_width(tensors: dict[str, torch.Tensor], want: dict[str, torch.Tensor],
                 data: Dataset, name: str) -> None:
    """Input width (first weight's input dimension) and classes (``out.weight`` rows)."""
    first = next(iter(want))
    if first in tensors and tensors[first].ndim >= 2 and \
            tensors[first].shape[1] != want[first].shape[1]:
        raise InvalidArgument(name, f"model takes {tensors[first].shape[1]} inputs per record, "
                                    f"data set {data.name} has {want[first].shape[1]}")
    out = tensors.get("out.weight")
    if out is not None and out.ndim == 2 and out.shape[0] != data.num_classes:
        raise InvalidArgument(name, f"model has {out.shape[0]} output classes, "
                                    f"data set {data.name} has {data.num_classes}")
