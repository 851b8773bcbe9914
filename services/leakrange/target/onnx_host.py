"""Serving an imported ONNX model (black-box): onnxruntime behind the same batch checks."""

from __future__ import annotations

import numpy as np

from leakrange.artifacts import MEDIA_ENDPOINT, MEDIA_ONNX, ArtifactRef, ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound
from leakrange.models.onnx_model import OnnxModel
from leakrange.target.model_host import BatchChecks, ModelHost


class OnnxHost(BatchChecks):
    def __init__(self, model: OnnxModel, ref: ArtifactRef, metadata: dict[str, str],
                 num_classes: int, max_batch: int = 4096) -> None:
        if max_batch < 1:
            raise InvalidArgument("max_batch", "must be at least 1")
        self.model = model
        self.ref = ref
        self.metadata = metadata
        self.max_batch = max_batch
        self.input_shape = model.input_shape
        self.model_kind = "onnx"
        self.num_classes = num_classes

    @classmethod
    def from_store(cls, store: ArtifactStore, ref: ArtifactRef, max_batch: int) -> OnnxHost:
        from leakrange.imports.model_import import imported_manifest_name

        try:
            manifest = store.get_manifest(imported_manifest_name(ref.sha256))
            class_names = [str(c) for c in manifest["class_names"]]
            metadata = {"dataset": str(manifest["dataset"]),
                        "class_names": "\x1f".join(class_names)}
        except NotFound:
            raise NotFound("model: the store has no import record for this ONNX model") from None
        except (KeyError, TypeError) as err:
            raise IntegrityError("import record of the ONNX model is corrupted") from err
        model = OnnxModel.from_bytes(store.get_bytes(ref), "model")
        return cls(model, ref, metadata, len(class_names), max_batch)

    @property
    def input_dtype(self) -> np.dtype:
        return self.model.input_dtype

    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        return np.concatenate([self.model.logits(np.ascontiguousarray(x[s:s + chunk]))
                               for s in range(0, len(x), chunk)])


def open_host(store: ArtifactStore, ref_text: str, max_batch: int = 4096) -> BatchChecks:
    """The host for a model artifact, by its media type (range safetensors, ONNX, or an
    endpoint record: a proxy in front of an inference server)."""
    ref = store.stat(store.resolve(ref_text))
    if ref.media_type == MEDIA_ONNX:
        return OnnxHost.from_store(store, ref, max_batch)
    if ref.media_type == MEDIA_ENDPOINT:
        from leakrange.target.endpoint_host import EndpointHost

        return EndpointHost.from_store(store, ref, max_batch)
    return ModelHost.from_store(store, ref_text, max_batch)
