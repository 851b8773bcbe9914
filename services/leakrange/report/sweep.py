"""The sweep part of a report: each target variant's utility against its strongest membership
attack, and a plain-language recommendation computed from those numbers.

Per variant: test accuracy with a 95 % Wilson interval (measured on the variant's non-members),
the strongest membership attack (the membership scorer's ordering: TPR at 0.1 % FPR, then at
1 %, then AUC), its TPR at 0.1 % and 1 % FPR and AUC with their bootstrap intervals. A variant
is *at chance* when every one of those intervals reaches chance level (TPR = FPR, AUC = 0.5):
the audit cannot tell its attacks from guessing. The baseline is the variant without defences
(else the most accurate); "accuracy kept" is a variant's test accuracy over the baseline's.

The recommendation names the most accurate variant at chance; when none is, the least exposed
one; when even the baseline is at chance, it says the defences bought no measurable privacy
under this threat model. DP-audit violations are named in any case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from leakrange.common.attack_info import MEMBERSHIP
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import wilson
from leakrange.report.schema import AttackReport, TargetInfo
from leakrange.report.sweep_schema import SweepSection, SweepVariant
from leakrange.scoring import AttackOutcome, scorer_for

CONFIDENCE = 0.95


@dataclass(frozen=True)
class VariantOutcomes:
    """What one variant's run produced: its name, recipe overrides, target and attacks."""

    name: str
    overrides: Mapping[str, Any]
    target: TargetInfo
    outcomes: Sequence[AttackOutcome]


def accuracy_estimate(accuracy: float | None, n: int | None) -> Estimate | None:
    """Accuracy with its 95 % Wilson interval over ``n`` test records."""
    if accuracy is None:
        return None
    if not n:
        return Estimate(value=accuracy)
    z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    centre, half = wilson(round(accuracy * n), n, z)
    return Estimate(value=accuracy, ci_low=max(0.0, centre - half),
                    ci_high=min(1.0, centre + half))


def at_chance(tpr01: Estimate, tpr1: Estimate, auc: Estimate) -> bool:
    return tpr01.lower <= 0.001 and tpr1.lower <= 0.01 and auc.lower <= 0.5


def _defences(v: VariantOutcomes) -> dict[str, Any]:
    """The training defences in use, and the output-side ones the variant is served with."""
    out = dict(v.target.defences)
    access = v.overrides.get("access")
    if access:
        out["output"] = dict(access)
    return out


def variant_entry(v: VariantOutcomes, attacks: Sequence[AttackReport]) -> SweepVariant:
    scorer = scorer_for(MEMBERSHIP)
    scored = [a for a in attacks if a.result_kind == MEMBERSHIP and a.scored
              and a.metrics is not None]
    common: dict[str, Any] = {
        "name": v.name, "overrides": dict(v.overrides), "defences": _defences(v),
        "test_accuracy": accuracy_estimate(v.target.test_accuracy, v.target.test_size),
        "train_accuracy": v.target.train_accuracy, "attacks": [a.label for a in attacks],
        "claim_violated": any(a.findings.get("dp_audit", {}).get("violated", False)
                              for a in attacks),
    }
    if not scored:
        return SweepVariant(**common)
    best = max(scored, key=scorer.strength)
    m = best.metrics
    assert m is not None
    t01, t1 = m.tpr_at_fpr["0.1%"], m.tpr_at_fpr["1%"]
    return SweepVariant(
        **common, strongest_attack=best.label, tpr_at_01=t01, tpr_at_1=t1, auc=m.auc,
        risk_level=best.risk_level, at_chance=at_chance(t01, t1, m.auc),
        subgroups=best.findings.get("subgroups"),
    )


def build_sweep(variants: Sequence[VariantOutcomes], attacks: Sequence[AttackReport]
                ) -> SweepSection:
    """The sweep section; ``attacks`` are every variant's reports, in the variants' order."""
    entries: list[SweepVariant] = []
    start = 0
    for v in variants:
        entries.append(variant_entry(v, attacks[start:start + len(v.outcomes)]))
        start += len(v.outcomes)
    baseline = _baseline(entries)
    base_acc = baseline.test_accuracy.value if baseline.test_accuracy else None
    if base_acc:
        entries = [e.model_copy(update={"accuracy_kept": e.test_accuracy.value / base_acc})
                   if e.test_accuracy else e for e in entries]
        baseline = next(e for e in entries if e.name == baseline.name)
    return SweepSection(baseline=baseline.name, confidence=CONFIDENCE, variants=entries,
                        recommendation=recommendation(entries, baseline))


def _baseline(entries: Sequence[SweepVariant]) -> SweepVariant:
    undefended = [e for e in entries if not e.defences]
    if undefended:
        return undefended[0]
    return max(entries, key=_accuracy)


def _accuracy(e: SweepVariant) -> float:
    return e.test_accuracy.value if e.test_accuracy else -1.0


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def interval(e: Estimate, percent: bool) -> str:
    f = _pct if percent else (lambda x: f"{x:.2f}")
    if e.ci_low is None or e.ci_high is None:
        return f(e.value)
    return f"{f(e.value)} ({f(e.ci_low)}\u2013{f(e.ci_high)})"


def _attack_numbers(e: SweepVariant) -> str:
    assert e.tpr_at_01 is not None and e.auc is not None
    return (f"TPR at 0.1 % FPR {interval(e.tpr_at_01, True)}, "
            f"AUC {interval(e.auc, False)}")


def _kept(e: SweepVariant, baseline: SweepVariant) -> str:
    if e.accuracy_kept is None or e.test_accuracy is None or baseline.test_accuracy is None:
        return "(accuracy not measured)"
    both = f"({_pct(e.test_accuracy.value)} against {_pct(baseline.test_accuracy.value)})"
    if e.accuracy_kept >= 1.0:
        return f"loses no accuracy against {baseline.name} {both}"
    return (f"keeps {math.floor(e.accuracy_kept * 100 + 1e-9):.0f} % of the accuracy of "
            f"{baseline.name} {both}")


def recommendation(entries: Sequence[SweepVariant], baseline: SweepVariant) -> str:
    """Plain language, from the numbers only (see the module docstring)."""
    measured = [e for e in entries if e.at_chance is not None]
    if not measured:
        return "No membership attack finished on any variant, so the variants cannot be compared."
    text: list[str] = []
    if baseline.at_chance:
        text.append(f"Even {baseline.name}, without defences, leaves the strongest attack "
                    f"({baseline.strongest_attack}) at chance within its confidence interval "
                    f"({_attack_numbers(baseline)}): under this threat model the defences cost "
                    "accuracy without a measurable privacy gain. A better-informed attacker may "
                    "still succeed.")
    else:
        safe = [e for e in measured if e.at_chance and e is not baseline]
        if safe:
            best = max(safe, key=_accuracy)
            text.append(f"{best.name} {_kept(best, baseline)} and brings the strongest attack "
                        f"({best.strongest_attack}) to chance within its "
                        f"{CONFIDENCE * 100:.0f} % confidence interval ({_attack_numbers(best)}).")
            if baseline.tpr_at_01 is not None:
                text.append(f"Without it ({baseline.name}) the strongest attack "
                            f"({baseline.strongest_attack}) reaches {_attack_numbers(baseline)}.")
            others = [e.name for e in safe if e is not best]
            if others:
                text.append(f"Also at chance, at lower accuracy: {', '.join(others)}.")
        else:
            least = min(measured, key=lambda e: (
                e.tpr_at_01.value if e.tpr_at_01 else 1.0, e.auc.value if e.auc else 1.0))
            text.append(f"No variant brings the strongest attack to chance within its "
                        f"confidence interval. The least exposed is {least.name} "
                        f"({least.strongest_attack}: {_attack_numbers(least)}), which "
                        f"{_kept(least, baseline)}.")
    violated = [e.name for e in entries if e.claim_violated]
    if violated:
        text.append(f"Warning: the DP audit shows that {', '.join(violated)} does not deliver "
                    "its claimed epsilon (see the audit table).")
    missing = [e.name for e in entries if e.at_chance is None]
    if missing:
        text.append(f"No membership attack finished on {', '.join(missing)}.")
    return " ".join(text)
