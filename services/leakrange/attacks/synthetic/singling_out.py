"""Singling out, univariate and multivariate (Giomi et al., "A Unified Framework for Quantifying
Privacy Risk in Synthetic Data", PoPETs 2023, Section 4.1; the Anonymeter method).

The adversary writes predicates that single out exactly one record of the synthetic table,
hoping they single out one record of the original too. Univariate: rare values (a category seen
once, a numeric extreme). Multivariate: the values of a random synthetic record on random
columns, numeric ones as a one-sided bound away from the column's median; kept only if they
match one synthetic record. The range counts which predicates single out one original record
against one control record (on tables of equal size).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.common.attack_info import SYNTHETIC_RISK
from leakrange.synthetic.predicates import EQ, GE, LE, match_counts

PAPER = ("Giomi et al., A Unified Framework for Quantifying Privacy Risk in Synthetic Data, "
         "PoPETs 2023 (Anonymeter)")


class SinglingOutParams(AttackParams):
    mode: Literal["univariate", "multivariate"] = "multivariate"
    n_attacks: int = Field(default=500, ge=1, le=100_000)
    n_cols: int = Field(default=3, ge=1, le=32, description="conditions per predicate")


def _outputs(col: np.ndarray, op: np.ndarray, value: np.ndarray) -> AttackOutput:
    return AttackOutput(outputs={"predicate_columns": col.astype(np.int64),
                                 "predicate_ops": op.astype(np.int64),
                                 "predicate_values": value.astype(np.float64)},
                        facts={"predicates": float(len(col))})


def univariate(r: Release, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    cols, ops, values = [], [], []
    for j, cats in enumerate(r.columns.categories):
        v = r.synthetic[:, j]
        if cats is not None:
            uniq, counts = np.unique(v, return_counts=True)
            rare = uniq[counts == 1]
            cols += [j] * len(rare)
            ops += [EQ] * len(rare)
            values += list(rare)
        else:
            cols += [j, j]
            ops += [LE, GE]
            values += [float(v.min()), float(v.max())]
    order = rng.permutation(len(cols))[:n]
    return (np.array(cols)[order, None], np.array(ops)[order, None],
            np.array(values, dtype=np.float64)[order, None])


MAX_ROUNDS = 32  # batches of 4 x n_attacks candidate predicates before giving up


def _candidates(r: Release, draws: int, k: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, ...]:
    n_cols = len(r.columns.names)
    rows = rng.integers(0, len(r.synthetic), draws)
    col = np.argsort(rng.random((draws, n_cols)), axis=1)[:, :k]
    value = r.synthetic[rows[:, None], col]
    categorical = r.columns.categorical[col]
    # Numeric bounds point away from the median (Anonymeter: more extreme, more often unique).
    median = np.median(r.synthetic, axis=0)[col]
    op = np.where(categorical, EQ, np.where(value > median, GE, LE))
    return col, op, value


def multivariate(r: Release, n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Up to ``n`` distinct predicates that each match exactly one synthetic record, drawn in
    vectorised batches (as Anonymeter keeps drawing until it has ``n_attacks`` queries)."""
    k = min(k, len(r.columns.names))
    found: list[tuple[np.ndarray, ...]] = []
    seen: set[bytes] = set()
    total = 0
    for _ in range(MAX_ROUNDS):
        col, op, value = _candidates(r, 4 * n, k, rng)
        unique = match_counts(r.synthetic, col, op, value) == 1
        keep = []
        for i in np.flatnonzero(unique):  # dedupe: the same predicate counts once
            order = np.argsort(col[i])
            key = np.concatenate([col[i][order], op[i][order], value[i][order]]).tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(i)
        keep_idx = np.asarray(keep[:n - total], dtype=np.int64)
        found.append((col[keep_idx], op[keep_idx], value[keep_idx]))
        total += len(keep_idx)
        if total >= n:
            break
    return tuple(np.concatenate([f[j] for f in found]) for j in range(3))


class SinglingOut(SyntheticAttack):
    name: ClassVar[str] = "singling-out"
    summary: ClassVar[str] = "Predicates from the synthetic table that isolate one person."
    paper: ClassVar[str] = PAPER
    Params: ClassVar[type[AttackParams]] = SinglingOutParams
    result_kind: ClassVar[str] = SYNTHETIC_RISK

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, SinglingOutParams)
        release = Release.of(ctx)
        rng = np.random.default_rng(ctx.seed)
        ctx.progress("predicates", 0, 1, params.mode)
        if params.mode == "univariate":
            predicates = univariate(release, params.n_attacks, rng)
        else:
            predicates = multivariate(release, params.n_attacks, params.n_cols, rng)
        ctx.progress("predicates", 1, 1, params.mode)
        return _outputs(*predicates)
