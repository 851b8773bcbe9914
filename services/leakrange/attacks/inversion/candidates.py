"""Attribute inference inputs: the hidden attribute's one-hot columns (blanked in the audit
records the range hands out), every audit record completed with each candidate value, and the
value prior from the adversary's own records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition


@dataclass(frozen=True)
class HiddenAttribute:
    columns: np.ndarray  # int64 one-hot columns of the attribute in x

    @property
    def n_values(self) -> int:
        return len(self.columns)

    @classmethod
    def of(cls, ctx: RunContext, attack: str) -> HiddenAttribute:
        columns = ctx.extras.get("hidden_columns")
        width = int(np.prod(ctx.audit_x.shape[1:]))
        if columns is None or len(columns) < 2 or ctx.audit_x.ndim != 2:
            raise FailedPrecondition(f"data.audit.hidden_columns: attack '{attack}' needs a "
                                     "tabular target with a hidden attribute")
        if columns.min() < 0 or columns.max() >= width or len(set(columns.tolist())) != len(columns):
            raise FailedPrecondition("data.audit.hidden_columns: not distinct feature columns")
        return cls(np.asarray(columns, np.int64))

    def completions(self, x: np.ndarray) -> np.ndarray:
        """[n * k, D]: record i with value v at row i * k + v."""
        k = self.n_values
        out = np.repeat(x, k, axis=0)
        out[:, self.columns] = 0.0
        out[np.arange(len(out)), np.tile(self.columns, len(x))] = 1.0
        return out

    def values_of(self, x: np.ndarray) -> np.ndarray:
        """The attribute value (index into ``columns``) of records that show it."""
        return np.asarray(x[:, self.columns].argmax(axis=1), np.int64)

    def prior(self, ctx: RunContext) -> np.ndarray:
        """Marginal value frequencies in the adversary's records (Laplace-smoothed)."""
        counts = np.ones(self.n_values)
        if ctx.population_x is not None and len(ctx.population_x):
            counts += np.bincount(self.values_of(ctx.population_x), minlength=self.n_values)
        return counts / counts.sum()
