"""Recognising a zoo architecture in an ONNX graph, so an imported ONNX model can be audited with
its own architecture (reference models) and white-box (its weights as a range model).

Evaluated first: onnx2torch 1.5.15, the maintained ONNX -> PyTorch converter, imports
torchvision at start-up, and torchvision 0.28.0 from PyPI (the release paired with torch 2.13)
fails to load against the CPU torch wheel the range pins (``operator torchvision::nms does not
exist``), so it cannot be installed beside the lock. This module therefore converts only what
the range's zoo can express, read with the ``onnx`` package (protobuf, nothing executed):

    [Flatten] -> (Gemm | MatMul + Add) -> Relu -> ... -> (Gemm | MatMul + Add)  (zoo ``mlp``)

with ``Identity`` / inference ``Dropout`` nodes skipped. The weights become a zoo ``mlp`` model,
and the conversion counts only if that model answers what onnxruntime answers on the data set's
own records (``TOLERANCE``); any other graph returns ``None`` (the proxy is used).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from leakrange.datasets import Dataset
from leakrange.models import ModelSpec, build_model, validate_spec
from leakrange.models.onnx_model import OnnxModel

TOLERANCE = 1e-4
CHECK_RECORDS = 64
_SKIPPED = frozenset({"Identity", "Dropout"})


def zoo_model_of(blob: bytes, onnx_model: OnnxModel,
                 data: Dataset) -> tuple[ModelSpec, torch.nn.Module] | None:
    """The zoo ``mlp`` equal to the ONNX graph in ``blob``, checked on ``data``; else ``None``."""
    try:
        layers = _linear_chain(blob)
    except (ValueError, KeyError, IndexError):
        return None
    if layers is None or not layers:
        return None
    widths = [w.shape[1] for w, _ in layers]
    if widths[0] != int(np.prod(data.input_shape)) or layers[-1][0].shape[0] != data.num_classes:
        return None
    if any(layers[i][0].shape[0] != widths[i + 1] for i in range(len(layers) - 1)):
        return None
    spec = validate_spec({"kind": "mlp", "hidden": [w.shape[0] for w, _ in layers[:-1]],
                          "input_shape": list(data.input_shape),
                          "num_classes": data.num_classes})
    model = build_model(spec).eval()
    names = [f"fc{i}" for i in range(1, len(layers))] + ["out"]
    state = {}
    for name, (weight, bias) in zip(names, layers, strict=True):
        state[f"{name}.weight"] = torch.from_numpy(np.array(weight, dtype=np.float32))
        state[f"{name}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
    model.load_state_dict(state, strict=True)
    sample = np.ascontiguousarray(data.x[:CHECK_RECORDS], dtype=np.float32)
    with torch.inference_mode():
        ours = model(torch.from_numpy(sample)).numpy()
    theirs = onnx_model.logits(sample)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=TOLERANCE,
                                                     rtol=TOLERANCE):
        return None
    return spec, model


def _linear_chain(blob: bytes) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(weight [out, in], bias [out]) per linear layer of a Linear/ReLU chain, else ``None``."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_model_from_string(blob).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:  # constants folded into Constant nodes
        if node.op_type == "Constant" and node.attribute:
            weights[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    inputs = [i.name for i in graph.input if i.name not in weights]
    if len(inputs) != 1:
        return None
    current = inputs[0]
    nodes = [n for n in graph.node if n.op_type != "Constant"]
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    expect_linear = True
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if not node.input or node.input[0] != current:
            return None
        op = node.op_type
        if op in _SKIPPED or (op == "Flatten" and not layers and _attr(node, "axis", 1) == 1):
            pass
        elif op == "Gemm" and expect_linear:
            layer = _gemm(node, weights)
            if layer is None:
                return None
            layers.append(layer)
            expect_linear = False
        elif op == "MatMul" and expect_linear and i + 1 < len(nodes) and \
                nodes[i + 1].op_type == "Add" and nodes[i + 1].input[0] == node.output[0]:
            w = weights.get(node.input[1])
            b = weights.get(nodes[i + 1].input[1])
            if w is None or b is None or w.ndim != 2 or b.shape != (w.shape[1],):
                return None
            layers.append((w.T, b))
            expect_linear = False
            i += 1
            node = nodes[i]
        elif op == "Relu" and not expect_linear:
            expect_linear = True
        else:
            return None
        current = node.output[0]
        i += 1
    if expect_linear or [o.name for o in graph.output] != [current]:
        return None
    return layers


def _attr(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _gemm(node: Any, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    if _attr(node, "alpha", 1.0) != 1.0 or _attr(node, "beta", 1.0) != 1.0 or \
            _attr(node, "transA", 0) != 0 or len(node.input) != 3:
        return None
    w, b = weights.get(node.input[1]), weights.get(node.input[2])
    if w is None or b is None or w.ndim != 2:
        return None
    w = w if _attr(node, "transB", 0) == 1 else w.T
    return (w, b) if b.shape == (w.shape[0],) else None
