"""The DP audit part of membership scoring: when the target claims (epsilon, delta) under
DP-SGD, every membership attack's scores give an empirical lower bound on epsilon
(``metrics.dp_audit``). A lower bound above the claim means the training did not deliver its
guarantee (or the accountant was misinformed); a bound below it proves nothing either way."""

from __future__ import annotations

from typing import Any

import numpy as np

from leakrange.common.errors import InvalidArgument
from leakrange.metrics.dp_audit import one_run_bound, threshold_bound

AUDIT_CONFIDENCE = 0.95


def dp_audit_findings(scores: np.ndarray, is_member: np.ndarray, claim: dict[str, float],
                      seed: int) -> dict[str, Any]:
    """Both lower bounds, the claim, and whether the strongest bound exceeds the claim."""
    delta = float(claim["delta"])
    try:
        bounds = [threshold_bound(scores, is_member, delta=delta, confidence=AUDIT_CONFIDENCE,
                                  seed=seed),
                  one_run_bound(scores, is_member, delta=delta, confidence=AUDIT_CONFIDENCE,
                                seed=seed)]
    except InvalidArgument as err:
        return {"claimed_epsilon": claim["epsilon"], "error": str(err)}
    best = max(bounds, key=lambda b: b.epsilon_lower)
    return {
        "claimed_epsilon": float(claim["epsilon"]),
        "accountant_epsilon": float(claim.get("accountant_epsilon", claim["epsilon"])),
        "delta": delta, "confidence": AUDIT_CONFIDENCE,
        "bounds": {b.method: {"epsilon_lower": b.epsilon_lower, "n_evaluated": b.n_evaluated,
                              **b.detail} for b in bounds},
        "epsilon_lower": best.epsilon_lower, "method": best.method,
        "violated": bool(best.epsilon_lower > float(claim["epsilon"])),
    }
