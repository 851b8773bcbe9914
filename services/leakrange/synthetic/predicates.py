"""Singling-out predicates as arrays, and their vectorised evaluation on a table.

A predicate is a conjunction of up to K conditions ``column op value`` (op 0: ==, 1: <=,
2: >=); unused slots have column -1. Shared by the singling-out attacks (which build them from
the synthetic table) and the range's scorer (which counts matches in original and control).
"""

from __future__ import annotations

import numpy as np

from leakrange.common.errors import InvalidArgument

EQ, LE, GE = 0, 1, 2


def check_predicates(col: np.ndarray, op: np.ndarray, value: np.ndarray, n_columns: int) -> None:
    if col.ndim != 2 or op.shape != col.shape or value.shape != col.shape:
        raise InvalidArgument("result.outputs.predicate_columns", "three P x K arrays expected")
    if col.dtype.kind not in "iu" or op.dtype.kind not in "iu" or value.dtype.kind != "f":
        raise InvalidArgument("result.outputs.predicate_columns", "wrong types")
    if col.size and (col.min() < -1 or col.max() >= n_columns):
        raise InvalidArgument("result.outputs.predicate_columns", "column out of range")
    if op.size and (op.min() < 0 or op.max() > GE):
        raise InvalidArgument("result.outputs.predicate_ops", "must be 0, 1 or 2")
    if not np.isfinite(value).all():
        raise InvalidArgument("result.outputs.predicate_values", "must be finite")


def match_matrix(table: np.ndarray, col: np.ndarray, op: np.ndarray, value: np.ndarray
                 ) -> np.ndarray:
    """P x N booleans: which rows of ``table`` each predicate matches."""
    hit = np.ones((col.shape[0], len(table)), dtype=bool)
    for k in range(col.shape[1]):
        used = col[:, k] >= 0
        cells = table[:, np.maximum(col[:, k], 0)].T  # P x N
        v = value[:, k:k + 1]
        o = op[:, k:k + 1]
        cond = np.where(o == EQ, cells == v, np.where(o == LE, cells <= v, cells >= v))
        hit &= cond | ~used[:, None]
    return hit


def match_counts(table: np.ndarray, col: np.ndarray, op: np.ndarray, value: np.ndarray
                 ) -> np.ndarray:
    """How many rows of ``table`` each predicate matches (P counts)."""
    return match_matrix(table, col, op, value).sum(axis=1)
