"""An ONNX model run by onnxruntime (CPU, or CUDA when its provider is installed).

Loading parses a protobuf graph: nothing is unpickled. Only a single float input of shape
``[batch, *features]`` and a single ``[batch, classes]`` output are accepted. Graphs that refer
to external data files are refused (the model is loaded from bytes, never from a path).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from leakrange.artifacts import MEDIA_ONNX
from leakrange.common.errors import InvalidArgument

if TYPE_CHECKING:
    from leakrange.datasets import Dataset

__all__ = ["MEDIA_ONNX", "ONNX_INSTALL", "OnnxModel"]

ONNX_INSTALL = "pip install 'leakpro-range[onnx]'"


def _errors(ort: Any) -> tuple[type[BaseException], ...]:
    """onnxruntime's own exception classes (InvalidProtobuf, Fail ... derive from Exception)."""
    state = ort.capi.onnxruntime_pybind11_state
    own = [v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception)]
    return (RuntimeError, ValueError, TypeError, *own)


def _runtime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise InvalidArgument("model", f"ONNX models need onnxruntime: {ONNX_INSTALL}") from None
    return onnxruntime


class OnnxModel:
    def __init__(self, session: Any, file: str) -> None:
        self._session = session
        self._lock = threading.Lock()
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise InvalidArgument(file, "ONNX model must have one input and one output")
        self._input = inputs[0].name
        self._output = outputs[0].name
        if inputs[0].type not in ("tensor(float)", "tensor(double)"):
            raise InvalidArgument(file, "ONNX model input must be float")
        self._double = inputs[0].type == "tensor(double)"
        shape = list(inputs[0].shape)
        dims = shape[1:]
        if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
            raise InvalidArgument(file, "ONNX input must be [batch, features...] with fixed "
                                        "feature dimensions")
        self.input_shape = tuple(int(d) for d in dims)
        self.file = file

    @classmethod
    def from_bytes(cls, blob: bytes, file: str) -> OnnxModel:
        ort = _runtime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(blob, sess_options=options,
                                           providers=_providers(ort))
        except _errors(ort):
            raise InvalidArgument(file, "not a loadable ONNX model") from None
        return cls(session, file)

    @property
    def input_dtype(self) -> np.dtype:
        """What the graph's input takes (float64 or float32)."""
        return np.dtype(np.float64 if self._double else np.float32)

    def logits(self, x: np.ndarray) -> np.ndarray:
        feed = x.astype(np.float64 if self._double else np.float32, copy=False)
        with self._lock:
            out = self._session.run([self._output], {self._input: feed})[0]
        return np.asarray(out, dtype=np.float32)

    def check_against(self, data: Dataset, sample: np.ndarray) -> int:
        """Checks the input width and the classes against ``data``; returns the classes."""
        if self.input_shape != tuple(data.input_shape):
            width = int(np.prod(self.input_shape))
            raise InvalidArgument(self.file, f"model takes {width} inputs per record "
                                             f"(shape {list(self.input_shape)}), data set "
                                             f"{data.name} has {list(data.input_shape)}")
        try:
            out = self.logits(sample)
        except _errors(_runtime()):
            raise InvalidArgument(self.file, "ONNX model failed on the data set's records") \
                from None
        if out.ndim != 2 or out.shape[0] != len(sample):
            raise InvalidArgument(self.file, "ONNX output must be [batch, classes]")
        if out.shape[1] != data.num_classes:
            raise InvalidArgument(self.file, f"model has {out.shape[1]} output classes, "
                                             f"data set {data.name} has {data.num_classes}")
        return int(out.shape[1])


def _providers(ort: Any) -> list[str]:
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
