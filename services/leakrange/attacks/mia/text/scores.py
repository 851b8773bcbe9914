"""Per-document membership scores from per-token log-probabilities (higher = more likely a
member). Each function cites the paper it implements; the attack modules wire them to the
target."""

from __future__ import annotations

import math
import zlib

import numpy as np

from leakrange.common.errors import InvalidArgument


def loss_score(log_probs: np.ndarray) -> float:
    """Negative mean token loss (Yeom et al. 2018, applied to LMs: low perplexity = member)."""
    return float(np.mean(log_probs)) if len(log_probs) else 0.0


def zlib_score(log_probs: np.ndarray, text: str) -> float:
    """Carlini et al. 2021: log-perplexity over zlib entropy (bytes of the compressed text),
    negated. Text that is easy for the model but hard for zlib is memorised, not merely
    repetitive."""
    entropy = len(zlib.compress(text.encode("utf-8")))
    return loss_score(log_probs) / max(1, entropy)


def _lowest_mean(values: np.ndarray, k_percent: float) -> float:
    if not len(values):
        return 0.0
    k = max(1, math.ceil(len(values) * k_percent / 100.0))
    return float(np.mean(np.sort(values)[:k]))


def min_k_score(log_probs: np.ndarray, k_percent: float) -> float:
    """Shi et al., ICLR 2024: the mean log-probability of the k % least likely tokens."""
    return _lowest_mean(log_probs, k_percent)


def min_k_plus_plus_score(log_probs: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                          k_percent: float) -> float:
    """Zhang et al., ICLR 2025: each token's log-probability standardised by the mean and
    standard deviation of log p under the model's next-token distribution at that position,
    then Min-K% over those (training tokens sit at local maxima of the distribution)."""
    if len(mu) != len(log_probs) or len(sigma) != len(log_probs):
        raise InvalidArgument("mu", "needs one value per token")
    return _lowest_mean((log_probs - mu) / sigma, k_percent)


def reference_score(target_log_probs: np.ndarray, reference_log_probs: np.ndarray) -> float:
    """Carlini et al. 2021: the ratio of the target's log-perplexity to a reference model's,
    negated (text the target finds much easier than a model that never saw it)."""
    target = -loss_score(target_log_probs)
    reference = -loss_score(reference_log_probs)
    return -target / max(reference, 1e-6)
