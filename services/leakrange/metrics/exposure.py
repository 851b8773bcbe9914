"""Canary exposure (Carlini et al., "The Secret Sharer", USENIX Security 2019, sections 4.2-4.3).

exposure(s) = log2 |R| - log2 rank(s), the rank of the true canary s among every fill of its
template (R). Enumerating R is too large beyond a few digits, so it is estimated from m random
fills: by sampling, exposure ~= log2((m + 1) / rank among them), which can show at most
log2(m + 1) bits; and by the paper's extrapolation, fitting a skew-normal to the candidates'
log-perplexities and reading exposure = -log2 P[ppl(r) <= ppl(s)] from its CDF (capped at
log2 |R|). Scores are "higher = more likely", i.e. the negated log-perplexity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from leakrange.common.errors import InvalidArgument


@dataclass(frozen=True)
class ExposureEstimate:
    rank: int  # 1 = scored above every reference candidate
    references: int
    sampled_bits: float  # log2((m + 1) / rank)
    extrapolated_bits: float  # skew-normal fit, capped at log2 |R|
    max_bits: float  # log2 |R|


def exposure(canary_score: float, reference_scores: np.ndarray, space_size: int
             ) -> ExposureEstimate:
    """Exposure of one canary from its score and the reference candidates' scores."""
    from scipy import stats

    refs = np.asarray(reference_scores, dtype=np.float64)
    if refs.ndim != 1 or len(refs) < 2 or not np.isfinite(refs).all():
        raise InvalidArgument("reference_scores", "needs at least 2 finite scores")
    if not math.isfinite(canary_score):
        raise InvalidArgument("canary_score", "must be finite")
    max_bits = math.log2(space_size)
    # Ties count against the canary: a model that cannot tell them apart exposes nothing.
    rank = 1 + int((refs >= canary_score).sum())
    sampled = math.log2((len(refs) + 1) / rank)
    log_ppl = -refs
    if np.ptp(log_ppl) == 0:
        extrapolated = 0.0 if rank > 1 else sampled
    else:
        a, loc, scale = stats.skewnorm.fit(log_ppl)
        log_cdf = float(stats.skewnorm.logcdf(-canary_score, a, loc, scale))
        extrapolated = min(max_bits, max(0.0, -log_cdf / math.log(2)))
    return ExposureEstimate(rank, len(refs), sampled, extrapolated, max_bits)
