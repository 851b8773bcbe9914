"""Exercise records: the states an exercise goes through and what is kept about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from leakrange.artifacts import ArtifactRef


class ExerciseState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The orchestrator stopped while the exercise ran; ``resume`` queues it again.
    INTERRUPTED = "interrupted"


FINAL_STATES = frozenset(
    {ExerciseState.SUCCEEDED, ExerciseState.FAILED, ExerciseState.CANCELLED,
     ExerciseState.INTERRUPTED}
)
RESUMABLE_STATES = frozenset(
    {ExerciseState.INTERRUPTED, ExerciseState.FAILED, ExerciseState.CANCELLED}
)


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class AttackRecord:
    """The outcome of one attack of one adversary. ``scores`` is the stored per-record scores."""

    adversary: str
    family: str
    attack: str
    status: str  # "succeeded" | "failed" | "cancelled"
    message: str = ""
    metrics: tuple[MetricValue, ...] = ()
    scores: ArtifactRef | None = None
    # Attack-side facts reported by the adversary (queries, reference models ...).
    facts: tuple[MetricValue, ...] = ()


@dataclass(frozen=True)
class ExerciseRecord:
    id: str
    name: str
    state: ExerciseState
    spec_yaml: str
    message: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    attacks: tuple[AttackRecord, ...] = field(default_factory=tuple)
    report_json: ArtifactRef | None = None
    report_html: ArtifactRef | None = None
    risk_level: str = ""
    # Each time the exercise was (re)started; > 1 after a resume.
    attempts: int = 0
