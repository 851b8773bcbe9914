"""Build a Report from each attack's audit scores and the audit set's ground truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import ThreatModel
from leakrange.metrics.mia_metrics import MiaMetrics, compute_mia_metrics
from leakrange.metrics.risk import RISK_ORDER, plain_summary, risk_level
from leakrange.report.schema import (
    AttackReport,
    ExerciseInfo,
    Overall,
    Report,
    ScoreHistogram,
    TargetInfo,
    ThreatModelSection,
    VulnerableRecord,
)

HISTOGRAM_BINS = 30
TOP_VULNERABLE = 10


@dataclass(frozen=True)
class AttackOutcome:
    """What one attack produced. ``scores`` (higher = member) align with ``is_member``.

    A failed attack has ``error`` set (a public message) and no scores.
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


def attacker_phrase(tm: ThreatModel) -> str:
    """Completes "An attacker ..." for the plain-language summary."""
    if tm.access.white_box:
        return "with a copy of the model's weights"
    return {
        "logits": "with API access to the model's raw scores",
        "probabilities": "with API access to the model's probabilities",
        "topk": f"with API access to the model's top-{tm.access.top_k} probabilities",
        "label": "with API access to the model's predicted labels only",
    }[tm.access.output]


def build_report(
    *,
    exercise_id: str,
    name: str,
    created: datetime,
    finished: datetime,
    threat_model: ThreatModel,
    target: TargetInfo,
    outcomes: Sequence[AttackOutcome],
    n_bootstrap: int = 200,
    seed: int = 0,
) -> Report:
    """Score every attack, find the most exposed members, and set the overall risk (the worst)."""
    if finished < created:
        raise InvalidArgument("finished", "is before created")
    attacks = [_attack_report(o, n_bootstrap, seed) for o in outcomes]
    return Report(
        exercise=ExerciseInfo(
            id=exercise_id,
            name=name,
            created=created,
            finished=finished,
            duration_s=(finished - created).total_seconds(),
        ),
        threat_model=ThreatModelSection.from_threat_model(threat_model),
        target=target,
        attacks=attacks,
        overall=_overall(attacks, target, attacker_phrase(threat_model)),
    )


def score_histogram(scores: np.ndarray, is_member: np.ndarray, bins: int) -> ScoreHistogram:
    """Member and non-member score counts over bin edges shared by both."""
    edges = np.histogram_bin_edges(scores, bins=bins)
    members, _ = np.histogram(scores[is_member], bins=edges)
    nonmembers, _ = np.histogram(scores[~is_member], bins=edges)
    return ScoreHistogram(
        bins=edges.tolist(), members=members.tolist(), nonmembers=nonmembers.tolist()
    )


def most_vulnerable(scores: np.ndarray, is_member: np.ndarray, k: int) -> list[VulnerableRecord]:
    """The k members with the highest scores (ties broken by index), as audit-set indices."""
    idx = np.flatnonzero(is_member)
    order = idx[np.lexsort((idx, -scores[idx]))][:k]
    return [
        VulnerableRecord(record_index=int(i), score=float(scores[i]), rank=r)
        for r, i in enumerate(order, start=1)
    ]


def _attack_report(o: AttackOutcome, n_bootstrap: int, seed: int) -> AttackReport:
    common: dict[str, Any] = {
        "family": o.family,
        "attack": o.attack,
        "params": dict(o.params),
        "seconds": o.seconds,
        "queries_used": o.queries_used,
        "reference_models": o.reference_models,
    }
    if o.error is not None or o.scores is None or o.is_member is None:
        return AttackReport(status="failed", message=o.error or "no scores", **common)
    try:
        metrics = compute_mia_metrics(o.scores, o.is_member, n_bootstrap=n_bootstrap, seed=seed)
    except InvalidArgument as err:
        return AttackReport(status="failed", message=str(err), **common)
    scores = np.asarray(o.scores, dtype=np.float64)
    member = np.asarray(o.is_member).astype(bool)
    return AttackReport(
        status="succeeded",
        metrics=metrics,
        risk_level=risk_level(metrics),
        score_histogram=score_histogram(scores, member, HISTOGRAM_BINS),
        most_vulnerable=most_vulnerable(scores, member, TOP_VULNERABLE),
        **common,
    )


def _strength(a: AttackReport) -> tuple[float, ...]:
    m: MiaMetrics | None = a.metrics
    if m is None or a.risk_level == "unknown":
        return (-1.0,)
    tpr = m.tpr_at_fpr
    return (
        float(RISK_ORDER.index(a.risk_level)),
        tpr["0.1%"].value if "0.1%" in tpr else 0.0,
        tpr["1%"].value if "1%" in tpr else 0.0,
        m.auc.value,
    )


def _overall(attacks: list[AttackReport], target: TargetInfo, phrase: str) -> Overall:
    scored = [a for a in attacks if a.metrics is not None]
    if not scored:
        return Overall(
            risk_level="unknown",
            summary="No attack finished, so the privacy risk could not be assessed.",
        )
    worst = max(scored, key=_strength)
    assert worst.metrics is not None
    population = target.train_size if target.train_size is not None else 0
    summary = plain_summary(worst.metrics, population, phrase)
    if len(scored) > 1:
        summary += f" (Strongest of the {len(scored)} attacks run: {worst.label}.)"
    return Overall(risk_level=worst.risk_level, summary=summary, worst_attack=worst.label)
