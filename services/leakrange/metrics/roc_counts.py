"""ROC statistics from per-score-level counts, vectorised over many (bootstrap) samples.

Scores are first reduced to their distinct levels (sorted ascending). A sample is then two count
vectors over those levels: how many members and how many non-members sit at each level. From
counts, every threshold-based statistic follows with cumulative sums, so B bootstrap samples are
a pair of ``[B, K]`` count matrices and no per-sample Python loop is needed.

Ties are handled exactly: a threshold sits *between* distinct levels, never inside one, and the
AUC counts a tied member/non-member pair as one half (the Mann-Whitney U statistic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Absolute tolerance when comparing an empirical FPR (an integer ratio) with a nominal one.
FPR_TOLERANCE = 1e-12


@dataclass(frozen=True)
class RocStatistics:
    """Statistics of B samples: ``auc`` [B], ``tpr_at_fpr`` [F, B], ``advantage`` [B]."""

    auc: np.ndarray
    tpr_at_fpr: np.ndarray
    advantage: np.ndarray


def roc_statistics(
    member_counts: np.ndarray, nonmember_counts: np.ndarray, fprs: tuple[float, ...]
) -> RocStatistics:
    """Compute AUC, TPR at FPR <= f for each f, and max(TPR - FPR) from ``[B, K]`` level counts.

    Column k counts the records whose score equals the k-th distinct level (ascending). Every row
    must hold at least one member and one non-member.
    """
    pos = np.asarray(member_counts, dtype=np.float64)
    neg = np.asarray(nonmember_counts, dtype=np.float64)
    n_pos = pos.sum(axis=1, keepdims=True)
    n_neg = neg.sum(axis=1, keepdims=True)
    # Members strictly above each level; ties contribute one half (Mann-Whitney).
    above = n_pos - np.cumsum(pos, axis=1)
    auc = (neg * (above + 0.5 * pos)).sum(axis=1) / (n_pos[:, 0] * n_neg[:, 0])
    # Threshold "score >= level k", taken from the highest level down: one ROC vertex per level.
    tpr = np.cumsum(pos[:, ::-1], axis=1) / n_pos
    fpr = np.cumsum(neg[:, ::-1], axis=1) / n_neg
    # The origin (threshold above every score) is always a valid operating point: TPR 0.
    tpr_at = np.stack(
        [np.where(fpr <= f + FPR_TOLERANCE, tpr, 0.0).max(axis=1) for f in fprs]
    ) if fprs else np.zeros((0, pos.shape[0]))
    advantage = np.maximum((tpr - fpr).max(axis=1), 0.0)
    return RocStatistics(auc=auc, tpr_at_fpr=tpr_at, advantage=advantage)


def level_counts(
    level_index: np.ndarray, is_member: np.ndarray, n_levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Members and non-members per level, each of shape [n_levels]."""
    members = np.bincount(level_index[is_member], minlength=n_levels)
    nonmembers = np.bincount(level_index[~is_member], minlength=n_levels)
    return members, nonmembers


def resampled_counts(
    levels_of_class: np.ndarray, n_levels: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Resample one class with replacement ``n_samples`` times; returns level counts [B, K]."""
    n = levels_of_class.shape[0]
    picks = levels_of_class[rng.integers(0, n, size=(n_samples, n))]
    offsets = (np.arange(n_samples, dtype=np.int64) * n_levels)[:, None]
    flat = np.bincount((picks + offsets).ravel(), minlength=n_samples * n_levels)
    return flat.reshape(n_samples, n_levels)
