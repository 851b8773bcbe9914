"""Membership-inference metrics: AUC, TPR at low FPR, precision under priors, all with CIs.

Orientation: scores are read as **higher = more likely a member**. Nothing is flipped
automatically: an attack whose scores point the wrong way gets an AUC below 0.5 and a low TPR at
low FPR, which is the honest result for that attack (auto-flipping would calibrate the attack on
the ground truth). Attacks must orient their own scores.

Conventions (see DESIGN.md, "Evaluation conventions"):

- AUC uses ``sklearn.metrics.roc_auc_score`` and the ROC ``sklearn.metrics.roc_curve`` with
  ``drop_intermediate=False``; tied scores form one threshold, so tied member/non-member pairs
  count one half (Mann-Whitney).
- TPR at FPR <= f is the largest TPR among ROC points whose FPR is at most f; for f = 0 it is
  the TPR reached before the first false positive.
- Confidence intervals are 95 % percentile bootstrap intervals, resampling members and
  non-members separately (stratified) so each replicate keeps the audit set's balance.
- Precision (PPV) under a membership prior p at an operating point (TPR, FPR):
  ``p*TPR / (p*TPR + (1-p)*FPR)``; ``None`` when the attack flags no one there.
- With N non-members an FPR below 1/N cannot be measured: TPR at such an FPR equals TPR at 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import roc_auc_score, roc_curve

from leakrange.common.errors import InvalidArgument
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.roc_counts import (
    FPR_TOLERANCE,
    RocStatistics,
    resampled_counts,
    roc_statistics,
)

DEFAULT_FPRS: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0)
DEFAULT_PRIORS: tuple[float, ...] = (0.01, 0.1, 0.5)
OPERATING_FPRS: tuple[float, ...] = (0.01, 0.001)
# Upper bound on the elements of one bootstrap chunk (keeps memory flat for large audit sets).
_CHUNK_ELEMENTS = 2_000_000


def percent_key(fraction: float) -> str:
    """0.1 -> "10%", 0.001 -> "0.1%", 0.0 -> "0%": the dictionary keys used in MiaMetrics."""
    return f"{round(fraction * 100, 6):g}%"


class RocCurve(BaseModel):
    """A downsampled ROC for plotting: FPR log-spaced from 1/n_nonmembers to 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fpr: list[float]
    tpr: list[float]


class OperatingPoint(BaseModel):
    """The ROC point with the largest TPR at FPR <= target_fpr, and its precision per prior."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target_fpr: float
    tpr: float
    fpr: float
    precision: dict[str, float | None]


class MiaMetrics(BaseModel):
    """Everything the report shows about one membership-inference attack. JSON-serialisable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_members: int
    n_nonmembers: int
    confidence: float
    n_bootstrap: int
    auc: Estimate
    tpr_at_fpr: dict[str, Estimate]
    advantage: Estimate
    balanced_accuracy: float
    precision_at_prior: dict[str, OperatingPoint]
    roc: RocCurve

    @property
    def min_resolvable_fpr(self) -> float:
        """The smallest non-zero FPR this audit set can measure."""
        return 1.0 / self.n_nonmembers


def compute_mia_metrics(
    scores: np.ndarray,
    is_member: np.ndarray,
    *,
    fprs: Sequence[float] = DEFAULT_FPRS,
    priors: Sequence[float] = DEFAULT_PRIORS,
    operating_fprs: Sequence[float] = OPERATING_FPRS,
    n_bootstrap: int = 200,
    seed: int = 0,
    roc_points: int = 200,
    confidence: float = 0.95,
) -> MiaMetrics:
    """Score an attack against the audit set's ground truth (higher score = member).

    ``n_bootstrap=0`` skips the intervals (their bounds are then ``None``).
    """
    s, member = _validate(scores, is_member)
    fprs_t = _fractions("fprs", fprs, allow_zero=True)
    priors_t = _fractions("priors", priors, allow_zero=False)
    ops_t = _fractions("operating_fprs", operating_fprs, allow_zero=True)
    if n_bootstrap < 0:
        raise InvalidArgument("n_bootstrap", "must be >= 0")
    if roc_points < 2:
        raise InvalidArgument("roc_points", "must be >= 2")
    if not 0.0 < confidence < 1.0:
        raise InvalidArgument("confidence", "must be in (0, 1)")

    n1, n0 = int(member.sum()), int((~member).sum())
    auc = float(roc_auc_score(member, s))
    fpr, tpr, _ = roc_curve(member, s, drop_intermediate=False)
    tpr_points = [_tpr_at(fpr, tpr, f) for f in fprs_t]
    advantage = float(max(0.0, np.max(tpr - fpr)))

    boot = _bootstrap(s, member, fprs_t, n_bootstrap, seed)
    alpha = 1.0 - confidence

    def estimate(value: float, samples: np.ndarray | None) -> Estimate:
        if samples is None:
            return Estimate(value=value)
        lo, hi = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
        return Estimate(value=value, ci_low=float(lo), ci_high=float(hi))

    return MiaMetrics(
        n_members=n1,
        n_nonmembers=n0,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        auc=estimate(auc, None if boot is None else boot.auc),
        tpr_at_fpr={
            percent_key(f): estimate(t, None if boot is None else boot.tpr_at_fpr[i])
            for i, (f, t) in enumerate(zip(fprs_t, tpr_points, strict=True))
        },
        advantage=estimate(advantage, None if boot is None else boot.advantage),
        balanced_accuracy=0.5 + 0.5 * advantage,
        precision_at_prior={
            percent_key(f): _operating_point(fpr, tpr, f, priors_t) for f in ops_t
        },
        roc=_downsample(fpr, tpr, n0, roc_points),
    )


def ppv(prior: float, tpr: float, fpr: float) -> float | None:
    """Precision of the attack's accusations when a fraction ``prior`` of targets are members."""
    flagged = prior * tpr + (1.0 - prior) * fpr
    return None if flagged <= 0.0 else prior * tpr / flagged


def _validate(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores)
    m = np.asarray(is_member)
    if s.ndim != 1:
        raise InvalidArgument("scores", "must be one-dimensional")
    if m.shape != s.shape:
        raise InvalidArgument("is_member", "must have the same length as scores")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise InvalidArgument("scores", "must be real numbers")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise InvalidArgument("scores", "must be finite")
    if m.dtype != np.bool_:
        if not np.issubdtype(m.dtype, np.number) or not np.all((m == 0) | (m == 1)):
            raise InvalidArgument("is_member", "must be boolean or 0/1")
        m = m.astype(bool)
    if m.all() or not m.any():
        raise InvalidArgument("is_member", "needs both members and non-members")
    return s, m


def _fractions(field: str, values: Sequence[float], *, allow_zero: bool) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    low_ok = (lambda v: v >= 0.0) if allow_zero else (lambda v: v > 0.0)
    if not all(math.isfinite(v) and low_ok(v) and v < 1.0 for v in out):
        raise InvalidArgument(field, "each value must be a fraction in [0, 1)")
    return out


def _tpr_at(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Largest TPR with FPR <= target; ``fpr`` and ``tpr`` are non-decreasing (roc_curve)."""
    idx = int(np.searchsorted(fpr, target + FPR_TOLERANCE, side="right")) - 1
    return float(tpr[idx])


def _operating_point(
    fpr: np.ndarray, tpr: np.ndarray, target: float, priors: tuple[float, ...]
) -> OperatingPoint:
    best_tpr = _tpr_at(fpr, tpr, target)
    # Among points reaching that TPR, the one with the fewest false positives.
    first = int(np.searchsorted(tpr, best_tpr, side="left"))
    point_fpr = float(fpr[first])
    return OperatingPoint(
        target_fpr=target,
        tpr=best_tpr,
        fpr=point_fpr,
        precision={percent_key(p): ppv(p, best_tpr, point_fpr) for p in priors},
    )


def _downsample(fpr: np.ndarray, tpr: np.ndarray, n_nonmembers: int, points: int) -> RocCurve:
    """Sample the ROC staircase at log-spaced FPRs so a log-log plot keeps the low-FPR region."""
    grid = np.unique(np.geomspace(1.0 / n_nonmembers, 1.0, points))
    idx = np.searchsorted(fpr, grid + FPR_TOLERANCE, side="right") - 1
    return RocCurve(fpr=grid.tolist(), tpr=tpr[idx].tolist())


def _bootstrap(
    scores: np.ndarray,
    member: np.ndarray,
    fprs: tuple[float, ...],
    n_bootstrap: int,
    seed: int,
) -> RocStatistics | None:
    if n_bootstrap == 0:
        return None
    levels, level_index = np.unique(scores, return_inverse=True)
    n_levels = levels.shape[0]
    member_levels = level_index[member]
    nonmember_levels = level_index[~member]
    rng = np.random.default_rng(seed)
    width = max(n_levels, scores.shape[0])
    chunk = max(1, min(n_bootstrap, _CHUNK_ELEMENTS // width))
    aucs: list[np.ndarray] = []
    tprs: list[np.ndarray] = []
    advs: list[np.ndarray] = []
    done = 0
    while done < n_bootstrap:
        b = min(chunk, n_bootstrap - done)
        stats = roc_statistics(
            resampled_counts(member_levels, n_levels, b, rng),
            resampled_counts(nonmember_levels, n_levels, b, rng),
            fprs,
        )
        aucs.append(stats.auc)
        tprs.append(stats.tpr_at_fpr)
        advs.append(stats.advantage)
        done += b
    return RocStatistics(
        auc=np.concatenate(aucs),
        tpr_at_fpr=np.concatenate(tprs, axis=1),
        advantage=np.concatenate(advs),
    )

