"""Holds the served model and validates what it is asked to predict."""

from __future__ import annotations

import threading

import numpy as np
import torch

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import require_finite
from leakrange.models import ModelSpec, model_from_bytes, pick_device


class BatchChecks:
    """What every host checks of a batch before the model sees it."""

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
        require_finite(x, "inputs")
        return x.astype(np.float32, copy=False)

    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        raise NotImplementedError


class ModelHost(BatchChecks):
    """A model loaded from the store, ready to produce logits for validated batches."""

    def __init__(
        self, model: torch.nn.Module, spec: ModelSpec, ref: ArtifactRef,
        metadata: dict[str, str], max_batch: int = 4096,
    ) -> None:
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

    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        """Logits in chunks, so a large image batch never holds all its activations at once."""
        parts = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(x), chunk):
                part = np.array(x[start:start + chunk], dtype=np.float32, order="C")
                parts.append(self.model(torch.from_numpy(part).to(self.device)).float().cpu())
        return torch.cat(parts).numpy()
