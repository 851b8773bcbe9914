"""Per-record statistics over reference models, accumulated shard by shard.

Scoring needs, per audit record, the mean and variance of a signal over the models where the
record was IN (or OUT), or a plain mean over all models. Accumulating them as shards arrive keeps
memory at O(records), whatever the number of reference models. Shards are merged with the
pairwise update of Chan, Golub and LeVeque ("Updating formulae and a pairwise algorithm for
computing sample variances", 1979), which is exact and numerically stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MaskedMoments:
    """Count, mean and sum of squared deviations per record, over the models where a mask
    holds."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> MaskedMoments:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    def add(self, values: np.ndarray, mask: np.ndarray) -> None:
        """Merge ``values`` [k, n] of k more models, counted where ``mask`` [k, n] holds."""
        values = np.asarray(values, dtype=np.float64)
        count = mask.sum(axis=0).astype(np.float64)
        safe = np.maximum(count, 1.0)
        mean = np.where(mask, values, 0.0).sum(axis=0) / safe
        m2 = np.where(mask, (values - mean) ** 2, 0.0).sum(axis=0)
        total = self.count + count
        delta = mean - self.mean
        share = np.divide(count, total, out=np.zeros_like(total), where=total > 0)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta**2 * self.count * share
        self.count = total

    def variance(self) -> np.ndarray:
        """Unbiased per-record variance (0 where fewer than 2 models)."""
        return self.m2 / np.maximum(self.count - 1.0, 1.0)


@dataclass
class RunningMean:
    """Mean per record over all models, shard by shard."""

    total: np.ndarray
    models: int = 0

    @classmethod
    def zeros(cls, n: int) -> RunningMean:
        return cls(np.zeros(n))

    def add(self, values: np.ndarray) -> None:
        self.total = self.total + np.asarray(values, dtype=np.float64).sum(axis=0)
        self.models += len(values)

    def mean(self) -> np.ndarray:
        return self.total / max(1, self.models)
