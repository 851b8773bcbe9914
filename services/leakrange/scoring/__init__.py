"""Range-side scoring: one scorer per result kind (``base.py`` says what a scorer is).

Adding a result kind is one module here and one entry in ``SCORERS``; the runner and the report
builder find it by the result kind an attack declares in the catalogue.
"""

from __future__ import annotations

from leakrange.common.errors import FailedPrecondition
from leakrange.scoring.attribute import AttributeScorer
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.exposure import ExposureScorer
from leakrange.scoring.extraction import ExtractionScorer
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.membership import MembershipScorer
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.reconstruction import ReconstructionScorer
from leakrange.scoring.record_reconstruction import RecordReconstructionScorer
from leakrange.scoring.synthetic_risk import SyntheticRiskScorer

SCORERS: tuple[type[Scorer], ...] = (
    MembershipScorer, ReconstructionScorer, AttributeScorer, SyntheticRiskScorer,
    ExposureScorer, ExtractionScorer, RecordReconstructionScorer,
)


def scorer_for(result_kind: str) -> Scorer:
    for scorer in SCORERS:
        if scorer.result_kind == result_kind:
            return scorer()
    raise FailedPrecondition(f"the range has no scorer for '{result_kind[:64]}' results")


__all__ = [
    "SCORERS",
    "Accepted",
    "AttackOutcome",
    "AttackReport",
    "Scorer",
    "SectionSpec",
    "scorer_for",
]
