"""``ModelSpec``: the architecture of a model as plain, JSON-serialisable data."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

ModelKind = Literal["logreg", "mlp", "cnn"]


class ModelSpec(BaseModel):
    """What ``build_model`` builds. ``hidden`` is used by mlp, ``channels``/``kernel_size`` by cnn.

    The cnn is conv -> ReLU -> 2x2 max-pool per entry of ``channels``, then one linear layer.
    ``imprint_bins``: a Robbing-the-Fed imprint block of that many bins in front of the model
    (``models/imprint.py``): what a malicious federation server sends in its crafted round.
    The range sets it; a target's model spec refuses it (``zoo.spec_from_name_or_json``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ModelKind
    input_shape: list[int] = Field(min_length=1, max_length=3)
    num_classes: int = Field(ge=2, le=100_000)
    hidden: list[int] = Field(default_factory=lambda: [64, 64], max_length=16)
    channels: list[int] = Field(default_factory=lambda: [16, 32], min_length=1, max_length=8)
    kernel_size: int = Field(default=3, ge=1, le=15)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    imprint_bins: int | None = Field(default=None, ge=2, le=65_536)

    @model_validator(mode="after")
    def _check_shapes(self) -> ModelSpec:
        if any(d < 1 for d in self.input_shape):
            raise ValueError("input_shape entries must be positive")
        if any(h < 1 for h in self.hidden) or any(c < 1 for c in self.channels):
            raise ValueError("hidden and channels entries must be positive")
        if self.kind == "cnn":
            if len(self.input_shape) != 3:
                raise ValueError("cnn needs input_shape [channels, height, width]")
            if self.kernel_size % 2 == 0:
                raise ValueError("cnn kernel_size must be odd")
            shrink = 2 ** len(self.channels)
            if min(self.input_shape[1:]) < shrink:
                raise ValueError("cnn input is too small for that many pooling layers")
        return self

    @model_serializer(mode="wrap")
    def _omit_no_imprint(self, handler: SerializerFunctionWrapHandler,
                         info: SerializationInfo) -> Any:
        # Specs without an imprint serialise exactly as before the field existed (cache keys
        # and stored model files hash this JSON).
        data = handler(self)
        if isinstance(data, dict) and data.get("imprint_bins") is None:
            data.pop("imprint_bins", None)
        return data

    @property
    def num_features(self) -> int:
        """Number of input values per record (product of ``input_shape``)."""
        total = 1
        for d in self.input_shape:
            total *= d
        return total
