"""What scoring one attack yields: its report entry, in one risk vocabulary for every family.

Records are referred to only by their index in the audit set; a finding never holds feature
values, labels or any other data of a record. Membership results fill ``metrics``,
``score_histogram`` and ``most_vulnerable``; other result kinds put their scorer's own
(pydantic-validated) payload in ``findings``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.attack_info import MEMBERSHIP
from leakrange.metrics.mia_metrics import MiaMetrics

OverallRisk = Literal["low", "medium", "high", "critical", "unknown"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoreHistogram(_Frozen):
    """Counts of member and non-member scores over shared bin edges (len(bins) = counts + 1)."""

    bins: list[float]
    members: list[int]
    nonmembers: list[int]


class VulnerableRecord(_Frozen):
    """A member the attack is most confident about: index into the audit set, never its data."""

    record_index: int = Field(ge=0)
    score: float
    rank: int = Field(ge=1)
    # The score is shared with at least one other audit record: the attack cannot order them.
    tied: bool = False


class ScoreTies(_Frozen):
    """How many audit records share their score (rounded outputs make many ties)."""

    tied_records: int = Field(ge=0, description="records whose score another record shares")
    largest_group: int = Field(ge=0, description="records in the largest group of equal scores")
    distinct_scores: int = Field(ge=0)


class AttackReport(_Frozen):
    family: str
    attack: str
    status: Literal["succeeded", "failed"]
    message: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    result_kind: str = MEMBERSHIP
    metrics: MiaMetrics | None = None
    risk_level: OverallRisk = "unknown"
    seconds: float = Field(default=0.0, ge=0.0)
    queries_used: int = Field(default=0, ge=0)
    reference_models: int = Field(default=0, ge=0)
    score_histogram: ScoreHistogram | None = None
    most_vulnerable: list[VulnerableRecord] = Field(default_factory=list)
    ties: ScoreTies | None = None
    # Result kinds other than membership: the scorer's own payload (see its module).
    findings: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.family}/{self.attack}"

    @property
    def scored(self) -> bool:
        return self.status == "succeeded" and self.risk_level != "unknown"
