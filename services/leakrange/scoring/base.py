"""What a scorer is: the range-side judge of one result kind.

A scorer takes what an adversary returned through the Attack contract and the ground truth its
target kind keeps, and turns them into numbers with confidence intervals, a risk level in the
shared vocabulary (``low | medium | high | critical``), a plain-language verdict and a report
section (its template, figures and glossary entries). The runner and the report builder pick the
scorer by the attack's declared result kind; they never branch on the family.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.metrics.estimate import Estimate
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.outcome import AttackOutcome
from leakrange.v1 import attack_pb2


@dataclass(frozen=True)
class Accepted:
    """A validated, stored attack result and its headline numbers (for exercise records)."""

    artifact: ArtifactRef
    headline: tuple[tuple[str, Estimate], ...]


@dataclass(frozen=True)
class SectionSpec:
    """How the report shows this result kind: a title, a template under
    ``report/templates/sections/`` and the glossary entries its numbers need."""

    title: str
    template: str
    glossary: tuple[tuple[str, str], ...] = ()


class Scorer(ABC):
    result_kind: ClassVar[str]
    section: ClassVar[SectionSpec]

    @abstractmethod
    def accept(
        self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
        n_bootstrap: int, seed: int,
    ) -> Accepted:
        """Validate the adversary's result against the truth's shape (``RangeError`` naming the
        field otherwise), store it, and compute the headline numbers."""

    @abstractmethod
    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        """The ``AttackOutcome`` fields for a stored result (loaded back for the report)."""

    @abstractmethod
    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        """Score one succeeded outcome (a bad result becomes a failed entry, never raises)."""

    @abstractmethod
    def strength(self, report: AttackReport) -> tuple[float, ...]:
        """Orders this kind's scored attacks within one risk level (larger = stronger); the
        report builder compares risk levels first."""

    @abstractmethod
    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        """The plain-language summary when ``worst`` is the exercise's strongest attack.
        ``attacker`` completes "An attacker ..." (e.g. "with a copy of the model's weights")."""

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        """What the section template needs beyond the attacks (figures as inline image URIs,
        summary numbers); nothing by default."""
        return {}
