"""Build a Report: each attack scored by the scorer of its result kind, one overall verdict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import ThreatModel
from leakrange.metrics.risk import RISK_ORDER
from leakrange.report.federated_text import federated_description, federated_phrase
from leakrange.report.release_sweep import build_release_sweep, is_release_sweep
from leakrange.report.schema import (
    AttackReport,
    ExerciseInfo,
    Overall,
    Report,
    TargetInfo,
    ThreatModelSection,
)
from leakrange.report.sweep import VariantOutcomes, build_sweep
from leakrange.scoring import AttackOutcome, scorer_for

__all__ = ["AttackOutcome", "attacker_phrase", "build_report"]


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
    variants: Sequence[VariantOutcomes] | None = None,
) -> Report:
    """Score every attack, and set the overall risk (the strongest attack's).

    ``variants``: a defence sweep's variants, whose outcomes, in order, make up ``outcomes``;
    the report then compares them (``Report.sweep``; for a synthetic target's generators,
    ``Report.releases``) and its summary ends with the comparison's plain-language text."""
    if finished < created:
        raise InvalidArgument("finished", "is before created")
    flat = [o for v in variants or () for o in v.outcomes]
    if variants is not None and (len(flat) != len(outcomes)
                                 or any(a is not b for a, b in zip(flat, outcomes, strict=True))):
        raise InvalidArgument("variants", "must hold exactly the outcomes, in order")
    attacks = [_attack_report(o, n_bootstrap, seed) for o in outcomes]
    releases = build_release_sweep(variants, attacks) if variants and is_release_sweep(
        variants) else None
    sweep = build_sweep(variants, attacks) if variants and releases is None else None
    fl = target.federation
    phrase = federated_phrase(fl) if fl is not None else attacker_phrase(threat_model)
    overall = _overall(attacks, target, phrase)
    if releases is not None and overall.risk_level != "unknown":
        overall = overall.model_copy(update={"summary": (
            f"Across the {len(variants or ())} generators, the most exposed release: "
            f"{overall.summary} Comparing the generators: {releases.summary}")})
    if sweep is not None and overall.risk_level != "unknown":
        overall = overall.model_copy(update={"summary": (
            f"Across the {len(variants or ())} training variants, the most exposed one: "
            f"{overall.summary} Comparing the variants: {sweep.recommendation}")})
    return Report(
        exercise=ExerciseInfo(
            id=exercise_id,
            name=name,
            created=created,
            finished=finished,
            duration_s=(finished - created).total_seconds(),
        ),
        threat_model=_threat_model_section(threat_model, target),
        target=target,
        attacks=attacks,
        overall=overall,
        sweep=sweep,
        releases=releases,
    )


def _threat_model_section(tm: ThreatModel, target: TargetInfo) -> ThreatModelSection:
    section = ThreatModelSection.from_threat_model(tm)
    if target.federation is None:
        return section
    return section.model_copy(update={"description": federated_description(target.federation)})


def _attack_report(o: AttackOutcome, n_bootstrap: int, seed: int) -> AttackReport:
    if o.error is not None:
        return AttackReport(status="failed", message=o.error, **o.common())
    return scorer_for(o.result_kind).attack_report(o, n_bootstrap, seed)


def _strength(a: AttackReport) -> tuple[float, ...]:
    """Across result kinds the risk level decides; within one, the kind's own ordering."""
    if not a.scored:
        return (-1.0,)
    return (float(RISK_ORDER.index(a.risk_level)), *scorer_for(a.result_kind).strength(a))


def _overall(attacks: list[AttackReport], target: TargetInfo, phrase: str) -> Overall:
    scored = [a for a in attacks if a.scored]
    if not scored:
        return Overall(
            risk_level="unknown",
            summary="No attack finished, so the privacy risk could not be assessed.",
        )
    worst = max(scored, key=_strength)
    summary = scorer_for(worst.result_kind).verdict(
        worst, train_size=target.train_size, attacker=phrase, n_scored=len(scored))
    return Overall(risk_level=worst.risk_level, summary=summary, worst_attack=worst.label)
