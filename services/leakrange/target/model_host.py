"""Holds the served model and validates what it is asked to predict."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import require_finite
from leakrange.models import ModelSpec, model_from_bytes, pick_device


class BatchChecks(ABC):
    """What every host checks of a batch before the model sees it; subclasses serve a model
    format (range safetensors here, ONNX in ``onnx_host``)."""

    input_shape: tuple[int, ...]
    max_batch: int
    ref: ArtifactRef
    metadata: dict[str, str]
    model_kind: str
    num_classes: int

    @property
    def dataset(self) -> str:
        return self.metadata.get("dataset", "")

    @property
    def class_names(self) -> list[str]:
        names = self.metadata.get("class_names", "")
        return names.split("\x1f") if names else [str(i) for i in range(self.num_classes)]

    def check_wire_shape(self, shape: Sequence[int]) -> None:
        """Check a Predict shape before decoding: rank and record shape of the model, batch
        size within max_batch (so no size arithmetic on a hostile shape can overflow)."""
        if len(shape) != len(self.input_shape) + 1 or tuple(shape[1:]) != self.input_shape:
            expected = ", ".join(str(d) for d in self.input_shape)
            raise InvalidArgument("inputs.shape", f"expected [batch, {expected}]")
        if shape[0] < 0:
            raise InvalidArgument("inputs.shape", "negative dimension")
        self.check_batch_size(shape[0])

    def check_batch_size(self, records: int) -> None:
        if records > self.max_batch:
            raise InvalidArgument(
                "inputs.shape[0]", f"batch larger than max_batch {self.max_batch}"
            )

    def validate(self, x: np.ndarray) -> np.ndarray:
        """Check shape, dtype, finiteness and batch size; returns float32 [batch, *shape]."""
        if x.dtype.kind != "f":
            raise InvalidArgument("inputs.dtype", "must be float32 or float64")
        if x.ndim != len(self.input_shape) + 1 or tuple(x.shape[1:]) != self.input_shape:
            expected = ", ".join(str(d) for d in self.input_shape)
            raise InvalidArgument("inputs.shape", f"expected [batch, {expected}]")
        if x.shape[0] == 0:
            raise InvalidArgument("inputs", "empty batch")
        self.check_batch_size(x.shape[0])
        # Finite after the cast to the model's dtype: float64 1e300 becomes inf in float32.
        with np.errstate(over="ignore"):
            cast = x.astype(self.input_dtype, copy=False)
        require_finite(cast, "inputs")
        return cast

    @property
    @abstractmethod
    def input_dtype(self) -> np.dtype:
        """The numpy dtype inputs are cast to before the model sees them."""

    @abstractmethod
    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        """Logits of a validated batch."""

    def checked_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits of finite inputs; finite inputs the model overflows on (float32 3e38) are
        refused as bad input rather than answered with NaN."""
        out = self.logits(x)
        if not np.isfinite(out).all():
            raise InvalidArgument("inputs", "values outside the range the model can compute")
        return out


class ModelHost(BatchChecks):
    """A model loaded from the store, ready to produce logits for validated batches."""

    def __init__(
        self, model: torch.nn.Module, spec: ModelSpec, ref: ArtifactRef,
        metadata: dict[str, str], max_batch: int = 4096,
    ) -> None:
        if max_batch < 1:
            raise InvalidArgument("max_batch", "must be at least 1")
        self.device = pick_device()
        self.model = model.to(self.device).eval()
        self.spec = spec
        self.ref = ref
        self.metadata = metadata
        self.max_batch = max_batch
        self.input_shape = tuple(int(d) for d in spec.input_shape)
        self.model_kind = spec.kind
        self.num_classes = spec.num_classes
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: ArtifactStore, ref_text: str, max_batch: int = 4096) -> ModelHost:
        ref = store.resolve(ref_text)
        model, spec, metadata = model_from_bytes(store.get_bytes(ref))
        return cls(model, spec, ref, metadata, max_batch)

    @property
    def input_dtype(self) -> np.dtype:
        """The numpy dtype of the model's parameters (what inputs are cast to)."""
        param = next(self.model.parameters(), None)
        if param is None:
            return np.dtype(np.float32)
        return torch.empty(0, dtype=param.dtype).numpy().dtype

    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        """Logits in chunks, so a large image batch never holds all its activations at once."""
        parts = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(x), chunk):
                part = np.array(x[start:start + chunk], dtype=np.float32, order="C")
                parts.append(self.model(torch.from_numpy(part).to(self.device)).float().cpu())
        return torch.cat(parts).numpy()
