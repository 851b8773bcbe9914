"""Empirical lower bounds on a model's differential-privacy epsilon from membership scores.

Two auditors, both run on scores any membership attack returns for the audit set (members
drawn at random from the population, so each audit record is a canary whose inclusion the
training did not choose):

- **Threshold audit** (Jagielski, Ullman, Oprea, "Auditing Differentially Private Machine
  Learning: How Private is Private SGD?", NeurIPS 2020; Nasr, Song, Thakurta, Papernot,
  Carlini, "Adversary Instantiation: Lower Bounds for Differentially Private Machine
  Learning", IEEE S&P 2021). Any (epsilon, delta)-DP mechanism makes every test "member iff
  score >= t" satisfy FPR + e^eps FNR >= 1 - delta and FNR + e^eps FPR >= 1 - delta (Kairouz,
  Oh, Viswanath 2015), so eps >= max(log((1 - delta - FPR) / FNR), log((1 - delta - FNR) /
  FPR)). The threshold is chosen on one half of the audit set; on the other half FPR and FNR
  are replaced by their one-sided Clopper-Pearson upper bounds at level alpha / 2 each, so the
  bound holds with probability at least 1 - alpha (a threshold chosen on the same records it
  is evaluated on would be optimistic).
- **One-run audit** (Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run",
  NeurIPS 2023, Theorem 3.1 and Algorithm 2 / Appendix D): the auditor guesses "in" for its k+
  highest and "out" for its k- lowest scores and abstains on the rest; r guesses, v correct.
  Under (eps, delta)-DP, P[v correct] is at most the binomial tail of Bin(r, e^eps / (1 +
  e^eps)) plus a delta term; the bound is the largest eps whose p-value stays below alpha. The
  number of guesses is chosen on the first half, the bound computed on the second.

The paper's theorem assumes independent inclusion of each canary with probability 1/2; the
range's splits draw a fixed number of members at random, which the report states with the
bound. The bounds hold for the threat model the scores were produced under: a weaker attack
gives a lower (still valid) bound, never a higher one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from leakrange.common.errors import FailedPrecondition, InvalidArgument

INSTALL_HINT = "the DP audit needs scipy: pip install 'leakpro-range[pet]'"
_SPLIT_STREAM = 0xA0D1_7E95
GUESS_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
"""Shares of the audit half the one-run auditor may guess on (chosen on the first half)."""


@dataclass(frozen=True)
class EpsilonBound:
    """An empirical lower bound on epsilon and how it was reached."""

    method: str  # "threshold" | "one_run"
    epsilon_lower: float
    confidence: float
    delta: float
    n_evaluated: int  # audit records of the evaluation half
    detail: dict[str, float]


def _stats():  # type: ignore[no-untyped-def]
    try:
        from scipy import stats
    except ImportError:
        raise FailedPrecondition(INSTALL_HINT) from None
    return stats


def clopper_pearson_upper(k: np.ndarray | int, n: np.ndarray | int, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson upper bound on a proportion of k successes in n."""
    k_arr = np.asarray(k, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise InvalidArgument("counts", "need 0 <= k <= n and n >= 1")
    full = k_arr >= n_arr
    safe_b = np.where(full, 1.0, n_arr - k_arr)
    upper = _stats().beta.ppf(1.0 - alpha, k_arr + 1.0, safe_b)
    return np.where(full, 1.0, upper)


def epsilon_from_rates(fpr: np.ndarray | float, fnr: np.ndarray | float, delta: float
                       ) -> np.ndarray:
    """max(log((1 - delta - FPR) / FNR), log((1 - delta - FNR) / FPR), 0), elementwise;
    infinite where an error rate is 0 and the other leaves room (a perfect test)."""
    fpr_a = np.asarray(fpr, dtype=np.float64)
    fnr_a = np.asarray(fnr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log(np.clip(1.0 - delta - fpr_a, 0.0, None) / fnr_a)
        two = np.log(np.clip(1.0 - delta - fnr_a, 0.0, None) / fpr_a)
    best = np.fmax(np.where(np.isnan(one), -np.inf, one), np.where(np.isnan(two), -np.inf, two))
    return np.maximum(best, 0.0)


def halves(is_member: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified random split of the audit indices: (selection half, evaluation half)."""
    member = np.asarray(is_member).astype(bool)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_STREAM]))
    first, second = [], []
    for side in (np.flatnonzero(member), np.flatnonzero(~member)):
        perm = rng.permutation(side)
        first.append(perm[: len(perm) // 2])
        second.append(perm[len(perm) // 2 :])
    return np.concatenate(first), np.concatenate(second)


def _error_counts(scores: np.ndarray, member: np.ndarray, thresholds: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """False positives (non-members >= t) and false negatives (members < t) per threshold."""
    pos = np.sort(scores[member])
    neg = np.sort(scores[~member])
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    fn = np.searchsorted(pos, thresholds, side="left")
    return fp, fn


def threshold_bound(scores: np.ndarray, is_member: np.ndarray, *, delta: float,
                    confidence: float = 0.95, seed: int = 0) -> EpsilonBound:
    """Jagielski et al. / Nasr et al. lower bound; threshold chosen on the selection half."""
    s, member = _check(scores, is_member, delta, confidence)
    alpha = 1.0 - confidence
    pick, judge = halves(member, seed)
    cand = np.unique(s[pick])
    fp, fn = _error_counts(s[pick], member[pick], cand)
    n_neg, n_pos = int((~member[pick]).sum()), int(member[pick].sum())
    eps_sel = epsilon_from_rates(clopper_pearson_upper(fp, n_neg, alpha / 2),
                                 clopper_pearson_upper(fn, n_pos, alpha / 2), delta)
    threshold = float(cand[int(np.argmax(eps_sel))])
    fp_e, fn_e = _error_counts(s[judge], member[judge], np.array([threshold]))
    e_neg, e_pos = int((~member[judge]).sum()), int(member[judge].sum())
    fpr_up = float(clopper_pearson_upper(fp_e, e_neg, alpha / 2)[0])
    fnr_up = float(clopper_pearson_upper(fn_e, e_pos, alpha / 2)[0])
    eps = float(epsilon_from_rates(fpr_up, fnr_up, delta))
    return EpsilonBound("threshold", eps, confidence, delta, len(judge), {
        "threshold": threshold, "fpr": float(fp_e[0] / e_neg), "fnr": float(fn_e[0] / e_pos),
        "fpr_upper": fpr_up, "fnr_upper": fnr_up,
    })


def one_run_p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """Steinke et al. 2023, Algorithm 2: p-value of v correct out of r guesses on m canaries
    under (eps, delta)-DP."""
    stats = _stats()
    q = 1.0 / (1.0 + math.exp(-eps))
    beta = float(stats.binom.sf(v - 1, r, q))  # P[Bin(r, q) >= v]
    alpha = 0.0
    if delta > 0 and v > 0:
        # max over i = 1..v of P[v > Bin(r, q) >= v - i] / i
        cum = np.cumsum(stats.binom.pmf(np.arange(v - 1, -1, -1), r, q))
        alpha = float((cum / np.arange(1, v + 1)).max())
    return min(beta + alpha * delta * 2 * m, 1.0)


def one_run_epsilon(m: int, r: int, v: int, delta: float, confidence: float) -> float:
    """The largest eps whose p-value is below 1 - confidence (bisection, Steinke et al.)."""
    if not 0 <= v <= r <= m:
        raise InvalidArgument("guesses", "need 0 <= correct <= guesses <= canaries")
    p = 1.0 - confidence
    lo, hi = 0.0, 1.0
    if one_run_p_value(m, r, v, 0.0, delta) >= p:
        return 0.0
    while one_run_p_value(m, r, v, hi, delta) < p and hi < 1e3:
        lo, hi = hi, hi * 2
    for _ in range(40):
        mid = (lo + hi) / 2
        if one_run_p_value(m, r, v, mid, delta) < p:
            lo = mid
        else:
            hi = mid
    return lo


def _one_run_counts(scores: np.ndarray, member: np.ndarray, fraction: float) -> tuple[int, int]:
    """(guesses, correct) guessing "in" for the top and "out" for the bottom ``fraction / 2``
    of the scores (ties broken by position)."""
    n = len(scores)
    k = max(1, int(fraction * n) // 2)
    order = np.argsort(scores, kind="stable")
    if 2 * k > n:
        k = n // 2
    correct = int(member[order[n - k :]].sum()) + int((~member[order[:k]]).sum())
    return 2 * k, correct


def one_run_bound(scores: np.ndarray, is_member: np.ndarray, *, delta: float,
                  confidence: float = 0.95, seed: int = 0) -> EpsilonBound:
    """Steinke et al. lower bound; the number of guesses chosen on the selection half."""
    s, member = _check(scores, is_member, delta, confidence)
    pick, judge = halves(member, seed)

    def bound(idx: np.ndarray, fraction: float) -> tuple[float, int, int]:
        r, v = _one_run_counts(s[idx], member[idx], fraction)
        return one_run_epsilon(len(idx), r, v, delta, confidence), r, v

    best = max(GUESS_FRACTIONS, key=lambda f: bound(pick, f)[0])
    eps, r, v = bound(judge, best)
    return EpsilonBound("one_run", eps, confidence, delta, len(judge), {
        "guesses": float(r), "correct": float(v), "guess_fraction": best,
    })


def _check(scores: np.ndarray, is_member: np.ndarray, delta: float, confidence: float
           ) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    member = np.asarray(is_member).astype(bool)
    if s.ndim != 1 or s.shape != member.shape or not np.isfinite(s).all():
        raise InvalidArgument("scores", "need one finite score per audit record")
    if member.sum() < 4 or (~member).sum() < 4:
        raise InvalidArgument("audit", "needs at least 4 members and 4 non-members")
    if not 0.0 <= delta < 1.0 or not 0.5 <= confidence < 1.0:
        raise InvalidArgument("delta", "need 0 <= delta < 1 and 0.5 <= confidence < 1")
    return s, member
