"""``LmSpec`` and ``LmRecipe``: a causal language model's architecture and training, as data.

``arch: tiny-gpt`` is the range's own small transformer (``transformer.py``), trained from
scratch in minutes on a CPU. ``arch: llama`` is a Hugging Face Llama-family model whose
configuration travels in ``hf_config`` (SmolLM2-135M fine-tuned as a target, ``pretrained.py``);
an imported Hugging Face-format model (safetensors + config) fits the same field later.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leakrange.common.errors import InvalidArgument

LmArch = Literal["tiny-gpt", "llama"]


class LmSpec(BaseModel):
    """What ``build_lm`` builds. ``context`` is the longest sequence the model reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["causal-lm"] = "causal-lm"
    arch: LmArch = "tiny-gpt"
    vocab_size: int = Field(ge=8, le=300_000)
    context: int = Field(default=64, ge=4, le=8192)
    d_model: int = Field(default=128, ge=8, le=8192)
    n_layers: int = Field(default=2, ge=1, le=64)
    n_heads: int = Field(default=4, ge=1, le=128)
    d_ff: int = Field(default=256, ge=8, le=65_536)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    # arch llama: the Hugging Face LlamaConfig as a mapping (vocab_size and context must agree).
    hf_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> LmSpec:
        if self.arch == "tiny-gpt" and self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if self.arch == "llama" and not self.hf_config:
            raise ValueError("arch llama needs hf_config")
        return self


class LmRecipe(BaseModel):
    """How a language model is trained (next-token cross-entropy, AdamW)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(default=3, ge=1, le=1000)
    batch_size: int = Field(default=32, ge=1, le=4096)
    lr: float = Field(default=3e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0, le=10.0)
    warmup_steps: int = Field(default=20, ge=0, le=100_000)
    seed: int = Field(default=0, ge=0, lt=2**63)
    # Fine-tuning a pretrained base: train only the last ``train_last_layers`` blocks and the
    # head (0 = every parameter, full fine-tuning).
    train_last_layers: int = Field(default=0, ge=0, le=1000)


# Named architectures; vocab_size comes from the tokenizer.
LM_ZOO: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType({
    "lm-tiny": MappingProxyType({"d_model": 64, "n_layers": 2, "n_heads": 4, "d_ff": 128,
                                 "context": 48}),
    "lm-small": MappingProxyType({"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 512,
                                  "context": 64}),
    "lm-base": MappingProxyType({"d_model": 256, "n_layers": 6, "n_heads": 8, "d_ff": 1024,
                                 "context": 128}),
})


def lm_spec(model: str | dict[str, Any], vocab_size: int) -> LmSpec:
    """A zoo name or a mapping -> a validated ``LmSpec`` with the tokenizer's vocabulary."""
    if isinstance(model, str):
        if model not in LM_ZOO:
            raise InvalidArgument("model", f"unknown language model; zoo: {', '.join(LM_ZOO)}")
        fields: dict[str, Any] = dict(LM_ZOO[model])
    else:
        fields = dict(model)
    fields.setdefault("vocab_size", vocab_size)
    if fields["vocab_size"] != vocab_size:
        raise InvalidArgument("model.vocab_size", "must match the tokenizer's vocabulary")
    try:
        return LmSpec.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidArgument(f"model.{path}" if path else "model", first["msg"]) from None
