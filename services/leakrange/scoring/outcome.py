"""``AttackOutcome``: one attack's result joined with its ground truth, ready to be scored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leakrange.common.attack_info import MEMBERSHIP


@dataclass(frozen=True)
class AttackOutcome:
    """What one attack produced, with what the range knows about it.

    Membership: ``scores`` (higher = member) align with ``is_member``. Other result kinds carry
    what their scorer needs in ``evidence`` (the adversary's output and the matching truth).
    A failed attack has ``error`` set (a public message) and nothing to score.
    """

    family: str
    attack: str
    scores: np.ndarray | None = None
    is_member: np.ndarray | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    queries_used: int = 0
    reference_models: int = 0
    error: str | None = None
    result_kind: str = MEMBERSHIP
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def common(self) -> dict[str, Any]:
        """The report fields every result kind shares."""
        return {
            "family": self.family, "attack": self.attack, "params": dict(self.params),
            "result_kind": self.result_kind, "seconds": self.seconds,
            "queries_used": self.queries_used, "reference_models": self.reference_models,
        }
