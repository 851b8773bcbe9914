"""Pair reconstructions with the true records of one client batch before scoring them.

A batch attack returns its records in no particular order (and Robbing the Fed may return
more or fewer than the batch holds), so each true record is paired with one reconstruction by
the assignment of least total mean squared error (Hungarian method, Kuhn 1955, as
``scipy.optimize.linear_sum_assignment`` solves it); unpaired ones are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from leakrange.common.errors import InvalidArgument


def match_by_mse(reconstructions: Any, originals: Any) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(rec_idx, orig_idx)`` of the least-MSE one-to-one pairing, by ``orig_idx``."""
    rec = np.asarray(reconstructions, dtype=np.float64)
    orig = np.asarray(originals, dtype=np.float64)
    if rec.ndim < 2 or orig.ndim < 2 or rec.shape[1:] != orig.shape[1:]:
        raise InvalidArgument("reconstructions.shape", "must be records of the originals' shape")
    if len(rec) == 0 or len(orig) == 0:
        raise InvalidArgument("reconstructions", "must not be empty")
    if not (np.isfinite(rec).all() and np.isfinite(orig).all()):
        raise InvalidArgument("reconstructions", "must be finite")
    a = rec.reshape(len(rec), -1)
    b = orig.reshape(len(orig), -1)
    cost = ((a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None]) / a.shape[1]
    rows, cols = linear_sum_assignment(np.maximum(cost, 0.0))
    order = np.argsort(cols)
    return rows[order], cols[order]
