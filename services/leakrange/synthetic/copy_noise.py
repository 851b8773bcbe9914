"""``copy-with-noise``: a deliberately leaky generator that releases the original rows with a
little noise (numeric columns: Gaussian noise of ``noise`` x the column's standard deviation;
categorical columns: a value replaced by a uniformly drawn one with probability ``flip``).

For tests and for calibrating the report: every privacy attack should flag it.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leakrange.synthetic.table import TableColumns


class CopyWithNoiseParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    noise: float = Field(default=0.05, ge=0.0, le=10.0)
    flip: float = Field(default=0.02, ge=0.0, le=1.0)


def copy_with_noise(original: np.ndarray, columns: TableColumns, n_rows: int,
                    params: CopyWithNoiseParams, rng: np.random.Generator) -> np.ndarray:
    rows = rng.permutation(len(original)) if n_rows <= len(original) \
        else rng.integers(0, len(original), n_rows)
    out = original[rows[:n_rows]].copy()
    cat = columns.categorical
    num = ~cat
    if num.any():
        std = original[:, num].std(axis=0)
        out[:, num] += rng.normal(size=(n_rows, int(num.sum()))) * std * params.noise
    if cat.any():
        sizes = np.array([len(c) for c in columns.categories if c is not None], dtype=np.int64)
        flip = rng.random((n_rows, len(sizes))) < params.flip
        draws = np.floor(rng.random((n_rows, len(sizes))) * sizes).astype(np.float64)
        out[:, cat] = np.where(flip, draws, out[:, cat])
    return out
