"""``dp-bayes``: an epsilon-differentially private Bayesian-network generator (PrivBayes class).

After Zhang et al., "PrivBayes: Private Data Release via Bayesian Networks", ACM TODS 2017, with
a data-independent network: each column's parent is the column before it (a chain of degree 1),
so no privacy budget is spent on structure learning. The range releases one noisy histogram per
column pair (the first column alone), its counts perturbed by the OpenDP library's discrete
Laplace mechanism (``make_laplace`` on integer vectors, L1 sensitivity 1, its privacy map checked
to give at most ``epsilon / n_columns``): by sequential composition the release is epsilon-DP
with respect to adding or removing one original record. Numeric columns are cut into
``bins`` equal-width bins over the data set's public domain and sampled uniformly within a bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.errors import InvalidArgument, MissingDependency
from leakrange.synthetic.table import TableColumns


class DpBayesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: float = Field(default=1.0, gt=0.0, le=1000.0)
    bins: int = Field(default=16, ge=2, le=256)


def _laplace(n_cells: int, epsilon: float) -> Any:
    """OpenDP's discrete Laplace mechanism on a vector of counts, epsilon-DP for L1 distance 1."""
    try:
        import opendp.prelude as dp
    except ImportError:
        raise MissingDependency("generator 'dp-bayes' needs opendp: "
                                "pip install 'leakpro-range[synthetic]'") from None
    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=int), size=n_cells), dp.l1_distance(T=int)
    mechanism = dp.m.make_laplace(*space, scale=1.0 / epsilon)
    if mechanism.map(1) > epsilon * (1.0 + 1e-9):
        raise InvalidArgument("generator.params.epsilon", "the mechanism exceeds the budget")
    return mechanism


def _discretise(table: np.ndarray, columns: TableColumns, domain: np.ndarray, bins: int
                ) -> tuple[np.ndarray, list[int]]:
    """Bin index per cell and the number of bins per column."""
    codes = np.empty(table.shape, dtype=np.int64)
    sizes: list[int] = []
    for j, cats in enumerate(columns.categories):
        if cats is not None:
            codes[:, j] = table[:, j].astype(np.int64)
            sizes.append(len(cats))
        else:
            low, high = domain[j]
            width = (high - low) / bins if high > low else 1.0
            codes[:, j] = np.clip(((table[:, j] - low) / width).astype(np.int64), 0, bins - 1)
            sizes.append(bins)
    return codes, sizes


def _noisy_counts(codes: np.ndarray, sizes: list[int], epsilon: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Noisy histogram of ``codes`` over the public bins (the noise is OpenDP's own RNG)."""
    flat = np.ravel_multi_index(tuple(codes.T), tuple(sizes))
    exact = np.bincount(flat, minlength=int(np.prod(sizes)))
    noisy = np.asarray(_laplace(len(exact), epsilon)([int(c) for c in exact]), np.float64)
    return np.clip(noisy, 0.0, None).reshape(sizes)


def _sample_rows(prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of ``prob`` (rows x categories, each row summing to 1)."""
    cdf = np.cumsum(prob, axis=1)
    u = rng.random((len(prob), 1)) * cdf[:, -1:]
    return np.minimum((u > cdf).sum(axis=1), prob.shape[1] - 1)


def dp_bayes(original: np.ndarray, columns: TableColumns, n_rows: int, params: DpBayesParams,
             rng: np.random.Generator, domain: np.ndarray) -> np.ndarray:
    """Fit on ``original`` and sample ``n_rows``; ``domain``: (low, high) per column (public)."""
    codes, sizes = _discretise(original, columns, domain, params.bins)
    eps = params.epsilon / codes.shape[1]
    out_codes = np.empty((n_rows, codes.shape[1]), dtype=np.int64)
    first = _noisy_counts(codes[:, :1], sizes[:1], eps, rng) + 1e-9
    out_codes[:, 0] = _sample_rows(np.broadcast_to(first / first.sum(), (n_rows, sizes[0])), rng)
    for j in range(1, codes.shape[1]):
        joint = _noisy_counts(codes[:, j - 1:j + 1], sizes[j - 1:j + 1], eps, rng) + 1e-9
        conditional = joint / joint.sum(axis=1, keepdims=True)
        out_codes[:, j] = _sample_rows(conditional[out_codes[:, j - 1]], rng)
    out = out_codes.astype(np.float64)
    for j, cats in enumerate(columns.categories):
        if cats is None:
            low, high = domain[j]
            width = (high - low) / params.bins if high > low else 0.0
            out[:, j] = low + (out_codes[:, j] + rng.random(n_rows)) * width
    return out
