"""Named architectures, spec parsing, and ``build_model`` (spec -> ``torch.nn.Module``)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.models.spec import ModelSpec

ZOO: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {
        "logreg": MappingProxyType({"kind": "logreg"}),
        "mlp": MappingProxyType({"kind": "mlp", "hidden": (64, 64)}),
        "mlp-small": MappingProxyType({"kind": "mlp", "hidden": (32,)}),
        "mlp-wide": MappingProxyType({"kind": "mlp", "hidden": (256, 256)}),
        "cnn": MappingProxyType({"kind": "cnn", "channels": (16, 32), "kernel_size": 3}),
    }
)

_MAX_SPEC_BYTES = 64 * 1024


def zoo_spec(name: str, input_shape: Sequence[int], num_classes: int) -> ModelSpec:
    """The zoo architecture ``name`` sized for the given input shape and class count."""
    if name not in ZOO:
        raise InvalidArgument("model", f"unknown model; zoo: {', '.join(sorted(ZOO))}")
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in ZOO[name].items()}
    return validate_spec(
        {**fields, "input_shape": [int(d) for d in input_shape], "num_classes": num_classes}
    )


def spec_from_name_or_json(
    text_or_path: str, input_shape: Sequence[int], num_classes: int
) -> ModelSpec:
    """A zoo name, a JSON object, or the path of a JSON file -> a validated ``ModelSpec``.

    JSON may leave out ``input_shape`` and ``num_classes`` (filled from the data set); if it
    gives them they must match the data set.
    """
    text = text_or_path.strip()
    if text in ZOO:
        return zoo_spec(text, input_shape, num_classes)
    if not text.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InvalidArgument(
                "model", f"not a zoo name, JSON object or JSON file; zoo: {', '.join(sorted(ZOO))}"
            )
        if path.stat().st_size > _MAX_SPEC_BYTES:
            raise InvalidArgument("model", "spec file is too large")
        text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise InvalidArgument("model", "spec is not valid JSON") from err
    if not isinstance(doc, dict):
        raise InvalidArgument("model", "spec must be a JSON object")
    shape = [int(d) for d in input_shape]
    if doc.setdefault("input_shape", shape) != shape:
        raise InvalidArgument("model.input_shape", "does not match the data set")
    if doc.setdefault("num_classes", num_classes) != num_classes:
        raise InvalidArgument("model.num_classes", "does not match the data set")
    if doc.get("imprint_bins") is not None:
        raise InvalidArgument("model.imprint_bins", "is set by the range for a malicious "
                              "server's crafted round (target.federated.adversary.bins)")
    return validate_spec(doc)


def validate_spec(doc: dict[str, Any]) -> ModelSpec:
    """``ModelSpec.model_validate`` with errors turned into ``InvalidArgument`` (no values)."""
    try:
        return ModelSpec.model_validate(doc)
    except ValidationError as err:
        first = err.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        field = f"model.{where}" if where else "model"
        raise InvalidArgument(field, str(first["msg"])) from None


def build_model(spec: ModelSpec) -> nn.Module:
    """A freshly initialised module (uses torch's global RNG: seed it or fork it to repeat).

    With ``imprint_bins`` the imprint block is built first, then the model behind it."""
    if spec.imprint_bins is not None:
        from leakrange.models.imprint import ImprintBlock, Imprinted

        block = ImprintBlock(tuple(spec.input_shape), spec.imprint_bins)
        return Imprinted(block, build_model(spec.model_copy(update={"imprint_bins": None})))
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if spec.kind == "cnn":
        in_ch, height, width = spec.input_shape
        for i, out_ch in enumerate(spec.channels, start=1):
            pad = spec.kernel_size // 2
            layers[f"conv{i}"] = nn.Conv2d(in_ch, out_ch, spec.kernel_size, padding=pad)
            layers[f"relu{i}"] = nn.ReLU()
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            in_ch, height, width = out_ch, height // 2, width // 2
        layers["flatten"] = nn.Flatten()
        if spec.dropout > 0:
            layers["dropout"] = nn.Dropout(spec.dropout)
        layers["out"] = nn.Linear(in_ch * height * width, spec.num_classes)
        return nn.Sequential(layers)
    layers["flatten"] = nn.Flatten()
    width = spec.num_features
    if spec.kind == "mlp":
        for i, units in enumerate(spec.hidden, start=1):
            layers[f"fc{i}"] = nn.Linear(width, units)
            layers[f"relu{i}"] = nn.ReLU()
            if spec.dropout > 0:
                layers[f"dropout{i}"] = nn.Dropout(spec.dropout)
            width = units
    layers["out"] = nn.Linear(width, spec.num_classes)
    return nn.Sequential(layers)
