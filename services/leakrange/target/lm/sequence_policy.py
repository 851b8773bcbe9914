"""Access policies for language models: how token scores are shaped before they leave.

The same four output kinds as for classifiers, applied per position:
``logits`` -> log-probabilities of the given tokens; ``probabilities`` -> their probabilities;
``topk:K`` -> only the K most likely next tokens' probabilities and ids (the given token's own
probability only when it is among them); ``label`` -> no scores at all, only generated text.
Rounding applies to whatever is returned, as for classifiers.
"""

from __future__ import annotations

import numpy as np

from leakrange.common.errors import PermissionDenied
from leakrange.target.lm.host import TokenScores
from leakrange.target.policy import AccessPolicy


def needs_top_k(policy: AccessPolicy, vocab_size: int) -> int:
    """How many next-token probabilities the host must compute for ``policy`` (0 = none)."""
    return min(policy.top_k, vocab_size) if policy.output == "topk" else 0


def refuse_label(policy: AccessPolicy) -> None:
    if policy.output == "label":
        raise PermissionDenied("under a label policy this target returns generated text only "
                               "(use Generate)")


def shape_token_scores(scores: TokenScores, policy: AccessPolicy
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """(values, indices or None) for ``ScoreTokensResponse`` under ``policy``."""
    refuse_label(policy)
    if policy.output == "topk":
        assert scores.top_probs is not None and scores.top_ids is not None
        values, indices = scores.top_probs, scores.top_ids
    elif policy.output == "probabilities":
        values = np.exp(scores.given_log_probs.astype(np.float64))
        values = np.where(scores.given_log_probs == 0.0, 0.0, values).astype(np.float32)
        indices = None
    else:
        values, indices = scores.given_log_probs, None
    if policy.rounding is not None:
        values = np.round(values, policy.rounding)
    return values.astype(np.float32), indices
