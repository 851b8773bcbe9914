"""The exercise report as a pydantic model: the JSON artefact and the input of the HTML page.

Records are referred to only by their index in the audit set; a report never holds feature
values, labels or any other data of a record. Each attack's entry (``AttackReport``) is what its
result kind's scorer produced (``leakrange.scoring``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.report.sweep_schema import ReleaseSection, SweepSection, SweepVariant
from leakrange.scoring.findings import AttackReport, OverallRisk, ScoreHistogram, VulnerableRecord

__all__ = [
    "SCHEMA_VERSION",
    "AttackReport",
    "ExerciseInfo",
    "Overall",
    "OverallRisk",
    "Report",
    "ScoreHistogram",
    "SweepSection",
    "SweepVariant",
    "TargetInfo",
    "ThreatModelSection",
    "VulnerableRecord",
]

SchemaVersion = Literal["1.0"]
SCHEMA_VERSION: SchemaVersion = "1.0"


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
    test_size: int | None = Field(
        default=None, ge=0, description="records the test accuracy was measured on")
    reference_model: str | None = Field(
        default=None, description="architecture of the reference models (imported targets)")
    defences: dict[str, Any] = Field(
        default_factory=dict, description="training defences in use (weight decay, label "
        "smoothing, early stopping, DP-SGD with the accountant's epsilon)")
    federation: dict[str, Any] | None = Field(
        default=None, description="federated targets: the FL setting and the adversary's "
        "role (role, clients, partition, rounds, local steps, observed rounds ...)")


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
    # A defence sweep (``target.variants``): the variants compared; None for one target.
    sweep: SweepSection | None = None
    # A synthetic sweep (generators varied): every attack's risk per generator; else None.
    releases: ReleaseSection | None = None
