"""Language models as safetensors bytes: the ``LmSpec`` and the tokenizer JSON in the header.

The same framing rules as classifier files (``safetensors_io``): canonical header (identical
weights, identical sha), pickles and zips refused before parsing, tensor names and shapes
checked against the spec before loading.
"""

from __future__ import annotations

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.models.lm.spec import LmSpec
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.models.lm.transformer import build_lm
from leakrange.models.safetensors_io import _ZIP_MAGIC, _read_metadata, canonical_header

LM_SPEC_KEY = "leakrange.lm_spec"
TOKENIZER_KEY = "leakrange.tokenizer"
_RESERVED = (LM_SPEC_KEY, TOKENIZER_KEY)


def is_lm_file(data: bytes) -> bool:
    """Whether a safetensors file carries a language-model spec (cheap: header only)."""
    try:
        return LM_SPEC_KEY in _read_metadata(data)
    except InvalidArgument:
        return False


def lm_to_bytes(model: nn.Module, spec: LmSpec, tokenizer: TextTokenizer,
                metadata: dict[str, str] | None = None) -> bytes:
    extra = dict(metadata or {})
    if any(k in extra for k in _RESERVED):
        raise InvalidArgument("metadata", "the leakrange.* keys are reserved")
    if tokenizer.vocab_size > spec.vocab_size:
        raise InvalidArgument("tokenizer", "has more tokens than the model's vocabulary")
    # clone(): tied weights (llama's embedding and head) must not share storage in the file.
    tensors = {name: t.detach().to("cpu", torch.float32).clone().contiguous()
               for name, t in model.state_dict().items()}
    _check(tensors, spec)
    return canonical_header(save_tensors(tensors, metadata={
        **extra, LM_SPEC_KEY: spec.model_dump_json(), TOKENIZER_KEY: tokenizer.to_json()}))


def lm_from_bytes(data: bytes) -> tuple[nn.Module, LmSpec, TextTokenizer, dict[str, str]]:
    """(model in eval mode on CPU, spec, tokenizer, remaining metadata)."""
    if data[:4] == _ZIP_MAGIC:
        raise InvalidArgument("model", "not a safetensors file; pickled models are refused")
    spec, tokenizer, metadata = lm_header_from_bytes(data)
    try:
        tensors = load_tensors(bytes(data))
    except SafetensorError as err:
        raise InvalidArgument("model", "safetensors file is corrupt") from err
    model = build_lm(spec)
    _check(tensors, spec, model.state_dict())
    model.load_state_dict(tensors, strict=True)
    return model.eval(), spec, tokenizer, metadata


def _check(tensors: dict[str, torch.Tensor], spec: LmSpec,
           want: dict[str, torch.Tensor] | None = None) -> None:
    expected = want if want is not None else build_lm(spec).state_dict()
    if set(tensors) != set(expected):
        raise InvalidArgument("model", "tensor names do not match the language-model spec")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise InvalidArgument("model", f"tensor {name} has the wrong shape for the spec")
        if not tensor.is_floating_point():
            raise InvalidArgument("model", f"tensor {name} must be floating point")


def lm_header_from_bytes(data: bytes) -> tuple[LmSpec, TextTokenizer, dict[str, str]]:
    """Spec, tokenizer and metadata of a language-model file, without loading its weights."""
    metadata = _read_metadata(data)
    if LM_SPEC_KEY not in metadata or TOKENIZER_KEY not in metadata:
        raise InvalidArgument("model", "safetensors file carries no language-model spec")
    try:
        spec = LmSpec.model_validate_json(metadata.pop(LM_SPEC_KEY))
    except ValidationError as err:
        raise InvalidArgument("model", "language-model spec in the file is invalid") from err
    return spec, TextTokenizer.from_json(metadata.pop(TOKENIZER_KEY)), metadata
