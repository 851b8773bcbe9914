"""The exercise report as a pydantic model: the JSON artefact and the input of the HTML page.

Records are referred to only by their index in the audit set; a report never holds feature
values, labels or any other data of a record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.metrics.mia_metrics import MiaMetrics

SchemaVersion = Literal["1.0"]
SCHEMA_VERSION: SchemaVersion = "1.0"
OverallRisk = Literal["low", "medium", "high", "critical", "unknown"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExerciseInfo(_Frozen):
    id: str
    name: str
    created: datetime
    finished: datetime
    duration_s: float = Field(ge=0.0)


class ThreatModelSection(_Frozen):
    """The threat model's fields plus its plain-language description."""

    access: Access
    knowledge: Knowledge
    description: str

    @classmethod
    def from_threat_model(cls, tm: ThreatModel) -> ThreatModelSection:
        return cls(access=tm.access, knowledge=tm.knowledge, description=tm.describe())

    def to_threat_model(self) -> ThreatModel:
        return ThreatModel(access=self.access, knowledge=self.knowledge)


class TargetInfo(_Frozen):
    """The attacked model and the audit set drawn from its data."""

    model_kind: str
    dataset: str
    n_members: int = Field(ge=0, description="members in the audit set")
    n_nonmembers: int = Field(ge=0, description="non-members in the audit set")
    train_size: int | None = Field(default=None, ge=0, description="records the model saw")
    train_accuracy: float | None = None
    test_accuracy: float | None = None


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


class AttackReport(_Frozen):
    family: str
    attack: str
    status: Literal["succeeded", "failed"]
    message: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: MiaMetrics | None = None
    risk_level: OverallRisk = "unknown"
    seconds: float = Field(default=0.0, ge=0.0)
    queries_used: int = Field(default=0, ge=0)
    reference_models: int = Field(default=0, ge=0)
    score_histogram: ScoreHistogram | None = None
    most_vulnerable: list[VulnerableRecord] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.family}/{self.attack}"


class Overall(_Frozen):
    risk_level: OverallRisk
    summary: str
    worst_attack: str | None = None


class Report(_Frozen):
    schema_version: SchemaVersion = SCHEMA_VERSION
    exercise: ExerciseInfo
    threat_model: ThreatModelSection
    target: TargetInfo
    attacks: list[AttackReport]
    overall: Overall
