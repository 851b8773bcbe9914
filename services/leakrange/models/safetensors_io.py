"""Models as safetensors bytes with the ``ModelSpec`` in the header; pickles are refused."""

from __future__ import annotations

import json

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.models.spec import ModelSpec
from leakrange.models.zoo import build_model

SPEC_KEY = "leakrange.model_spec"
_MAX_HEADER = 16 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"  # what torch.save writes
_REFUSED = "not a safetensors file; pickled models are refused"


def model_to_bytes(
    model: nn.Module, spec: ModelSpec, metadata: dict[str, str] | None = None
) -> bytes:
    """Serialise the weights (float32, CPU) with ``spec`` and ``metadata`` in the header."""
    extra = dict(metadata or {})
    if SPEC_KEY in extra:
        raise InvalidArgument("metadata", f"the key {SPEC_KEY} is reserved")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise InvalidArgument("metadata", "keys and values must be strings")
    _check_matches_spec(model.state_dict(), spec)
    tensors = {
        name: t.detach().to("cpu", torch.float32).contiguous()
        for name, t in model.state_dict().items()
    }
    return canonical_header(
        save_tensors(tensors, metadata={**extra, SPEC_KEY: spec.model_dump_json()})
    )


def canonical_header(data: bytes) -> bytes:
    """The same safetensors file with its JSON header written with sorted keys and no spaces.

    safetensors keeps ``__metadata__`` in a hash map whose order changes from call to call, so
    identical weights gave different bytes (and shas, and content-addressed cache misses). The
    tensor offsets are relative to the data section, so only the header is rewritten; it is
    padded with spaces to a multiple of 8 bytes, as safetensors itself does.
    """
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + length:]


def model_from_bytes(data: bytes) -> tuple[nn.Module, ModelSpec, dict[str, str]]:
    """Rebuild (model in eval mode on CPU, spec, metadata without the spec) from safetensors.

    Anything without a valid safetensors header is refused before any parsing: torch.save zips
    and raw pickles (which start with the opcode 0x80) included. The first byte alone cannot
    decide it: a safetensors header length may also start with 0x80.
    """
    if data[:4] == _ZIP_MAGIC:
        raise InvalidArgument("model", _REFUSED)
    metadata = _read_metadata(data)
    if SPEC_KEY not in metadata:
        raise InvalidArgument("model", "safetensors file carries no model spec")
    try:
        spec = ModelSpec.model_validate_json(metadata.pop(SPEC_KEY))
    except ValidationError as err:
        raise InvalidArgument("model", "model spec in the file is invalid") from err
    try:
        tensors = load_tensors(bytes(data))
    except SafetensorError as err:
        raise InvalidArgument("model", "safetensors file is corrupt") from err
    model = build_model(spec)
    _check_matches_spec(tensors, spec, expected=model.state_dict())
    model.load_state_dict(tensors, strict=True)
    return model.eval(), spec, metadata


def _read_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header, validating the header's framing."""
    if len(data) < 8:
        raise InvalidArgument("model", _REFUSED)
    size = int.from_bytes(data[:8], "little")
    if size < 2 or size > _MAX_HEADER or 8 + size > len(data) or data[8:9] != b"{":
        raise InvalidArgument("model", _REFUSED)
    try:
        header = json.loads(bytes(data[8 : 8 + size]))
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidArgument("model", _REFUSED) from err
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise InvalidArgument("model", "safetensors metadata must map strings to strings")
    return dict(meta)


def _check_matches_spec(
    tensors: dict[str, torch.Tensor],
    spec: ModelSpec,
    expected: dict[str, torch.Tensor] | None = None,
) -> None:
    want = expected if expected is not None else build_model(spec).state_dict()
    if set(tensors) != set(want):
        raise InvalidArgument("model", "tensor names do not match the model spec")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(want[name].shape):
            raise InvalidArgument("model", f"tensor {name} has the wrong shape for the spec")
        if not tensor.is_floating_point():
            raise InvalidArgument("model", f"tensor {name} must be floating point")
