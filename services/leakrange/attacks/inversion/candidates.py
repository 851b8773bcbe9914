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
        distinct = len(np.unique(columns)) == len(columns)
        if columns.min() < 0 or columns.max() >= width or not distinct:
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

    def conditional_prior(self, ctx: RunContext, num_classes: int) -> np.ndarray:
        """[n, k] p(v | other features, label) for the audit records, from a logistic
        regression the adversary fits on its own records; the marginal when it cannot."""
        from sklearn.linear_model import LogisticRegression

        marginal = np.broadcast_to(self.prior(ctx), (len(ctx.audit_x), self.n_values))
        pop_x, pop_y = ctx.population_x, ctx.population_y
        if pop_x is None or pop_y is None or len(np.unique(self.values_of(pop_x))) < 2:
            return np.array(marginal)

        def features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.hstack([np.delete(x, self.columns, axis=1), np.eye(num_classes)[y]])

        model = LogisticRegression(max_iter=1000)
        model.fit(features(pop_x, pop_y), self.values_of(pop_x))
        prior = np.full((len(ctx.audit_x), self.n_values), 1e-6)
        prior[:, model.classes_] = model.predict_proba(features(ctx.audit_x, ctx.audit_y))
        return prior / prior.sum(axis=1, keepdims=True)
