"""Rates with confidence intervals for the inversion scorers (Wilson intervals, bootstrap for
differences)."""

from __future__ import annotations

import numpy as np

from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import wilson

Z95 = 1.959964


def rate(hits: np.ndarray) -> Estimate:
    """The share of true entries of ``hits`` with its 95 % Wilson interval."""
    n = len(hits)
    if n == 0:
        return Estimate(value=0.0)
    k = int(np.count_nonzero(hits))
    centre, half = wilson(k, n, Z95)
    return Estimate(value=k / n, ci_low=max(0.0, centre - half), ci_high=min(1.0, centre + half))


def mean_difference(a: np.ndarray, b: np.ndarray, n_bootstrap: int, seed: int) -> Estimate:
    """mean(a) - mean(b) for paired per-record values, with a 95 % bootstrap interval."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    value = float(a.mean() - b.mean()) if len(a) else 0.0
    if len(a) < 2 or n_bootstrap < 1:
        return Estimate(value=value)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD1FF]))
    idx = rng.integers(0, len(a), size=(n_bootstrap, len(a)))
    diffs = (a[idx] - b[idx]).mean(axis=1)
    low, high = np.quantile(diffs, [0.025, 0.975])
    return Estimate(value=value, ci_low=float(low), ci_high=float(high))


def median_estimate(values: np.ndarray, n_bootstrap: int, seed: int) -> Estimate:
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return Estimate(value=float("nan"))
    value = float(np.median(values))
    if len(values) < 2 or n_bootstrap < 1:
        return Estimate(value=value)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x3ED1]))
    meds = np.median(values[rng.integers(0, len(values), (n_bootstrap, len(values)))], axis=1)
    low, high = np.quantile(meds, [0.025, 0.975])
    return Estimate(value=value, ci_low=float(low), ci_high=float(high))
