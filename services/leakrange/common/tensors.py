"""Tensors on the wire: raw little-endian bytes + dtype + shape, converted to/from numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from leakrange.common.errors import InvalidArgument
from leakrange.v1 import common_pb2

_TO_NUMPY: dict[int, np.dtype] = {
    common_pb2.DTYPE_FLOAT32: np.dtype("<f4"),
    common_pb2.DTYPE_FLOAT64: np.dtype("<f8"),
    common_pb2.DTYPE_FLOAT16: np.dtype("<f2"),
    common_pb2.DTYPE_INT64: np.dtype("<i8"),
    common_pb2.DTYPE_INT32: np.dtype("<i4"),
    common_pb2.DTYPE_UINT8: np.dtype("u1"),
    common_pb2.DTYPE_BOOL: np.dtype("?"),
}
# Far above any real tensor, far below what overflows 64-bit sizes or numpy's 64 dimensions.
MAX_RANK = 32
MAX_DIMENSION = 2**31 - 1
_FROM_NUMPY: dict[str, int] = {dt.kind + str(dt.itemsize): code for code, dt in _TO_NUMPY.items()}


def dtype_of(code: int) -> np.dtype:
    return _TO_NUMPY[code]


def dtype_code(dtype: np.dtype) -> int:
    key = np.dtype(dtype).kind + str(np.dtype(dtype).itemsize)
    if key not in _FROM_NUMPY:
        raise InvalidArgument("dtype", f"unsupported dtype {np.dtype(dtype).name}")
    return _FROM_NUMPY[key]


def to_proto(array: np.ndarray) -> common_pb2.Tensor:
    """Encode a numpy array (any byte order) as a Tensor message."""
    arr = np.asarray(array)
    code = dtype_code(arr.dtype)
    arr = np.ascontiguousarray(arr, dtype=_TO_NUMPY[code])
    return common_pb2.Tensor(dtype=code, shape=list(arr.shape), data=arr.tobytes())


def from_proto(
    msg: common_pb2.Tensor,
    field: str = "tensor",
    *,
    max_elements: int | None = None,
    allow_empty: bool = False,
) -> np.ndarray:
    """Decode and validate a Tensor message. Errors name ``field`` and never carry values."""
    if msg.dtype not in _TO_NUMPY:
        raise InvalidArgument(f"{field}.dtype", "missing or unknown dtype")
    check_shape(msg.shape, field)
    count = math.prod(int(d) for d in msg.shape)  # Python ints: no overflow
    if max_elements is not None and count > max_elements:
        raise InvalidArgument(f"{field}.shape", f"too many elements (max {max_elements})")
    dtype = _TO_NUMPY[msg.dtype]
    if len(msg.data) != count * dtype.itemsize:
        raise InvalidArgument(
            f"{field}.data", f"length {len(msg.data)} does not match shape and dtype"
        )
    if count == 0 and not allow_empty:
        raise InvalidArgument(f"{field}", "empty tensor")
    arr = np.frombuffer(msg.data, dtype=dtype).reshape(tuple(msg.shape))
    return arr.astype(dtype.newbyteorder("="), copy=False)


def check_shape(shape: Sequence[int], field: str = "tensor") -> None:
    """Refuse a wire shape numpy cannot hold (rank, negative or huge dimensions) before any
    size arithmetic, so an overflowing element count is a named error, not INTERNAL."""
    if len(shape) > MAX_RANK:
        raise InvalidArgument(f"{field}.shape", f"rank above {MAX_RANK}")
    if any(d < 0 for d in shape):
        raise InvalidArgument(f"{field}.shape", "negative dimension")
    if any(d > MAX_DIMENSION for d in shape):
        raise InvalidArgument(f"{field}.shape", f"dimension above {MAX_DIMENSION}")


def require_finite(arr: np.ndarray, field: str) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidArgument(field, "contains NaN or infinite values")
