"""The generator comparison of a synthetic sweep (``target.synthetic`` with ``target.variants``
that vary the generator): every attack's risk with its interval for each generator, side by
side with the release's utility, and a plain-language summary computed from those numbers.

Per generator and attack: the residual risk ((attack - control) / (1 - control), Wilson 95 %
interval) for the Anonymeter-style attacks and in-painting; the AUC with its bootstrap interval
for the membership attacks (DCR, DOMIAS). An attack is *at chance* when its interval reaches
chance level (residual risk 0; for membership, the sweep's rule: TPR at 0.1 % and 1 % FPR and
AUC all reach chance); a generator is at chance when every attack that finished on it is.
Utility per generator: train-on-synthetic / test-on-real accuracy (beside train-on-real) and
the mean per-column distribution similarity, as the synthetic section reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from leakrange.common.attack_info import MEMBERSHIP, SYNTHETIC_RISK
from leakrange.metrics.estimate import Estimate
from leakrange.report.schema import AttackReport
from leakrange.report.sweep import CONFIDENCE, VariantOutcomes, at_chance, interval
from leakrange.report.sweep_schema import ReleaseCell, ReleaseSection, ReleaseVariant


def is_release_sweep(variants: Sequence[VariantOutcomes]) -> bool:
    return all("generator" in v.overrides for v in variants)


def _cell(name: str, a: AttackReport) -> ReleaseCell:
    if not a.scored:
        return ReleaseCell(attack=name, measure="", error=a.message or "did not finish")
    if a.result_kind == SYNTHETIC_RISK:
        risk = Estimate.model_validate(a.findings["risk"])
        return ReleaseCell(attack=name, measure="residual risk", estimate=risk,
                           risk_level=a.risk_level, at_chance=risk.lower <= 0.0)
    if a.result_kind == MEMBERSHIP and a.metrics is not None:
        m = a.metrics
        return ReleaseCell(attack=name, measure="AUC", estimate=m.auc, risk_level=a.risk_level,
                           at_chance=at_chance(m.tpr_at_fpr["0.1%"], m.tpr_at_fpr["1%"], m.auc))
    return ReleaseCell(attack=name, measure="", risk_level=a.risk_level)


def release_variant(v: VariantOutcomes, attacks: Sequence[AttackReport]) -> ReleaseVariant:
    suffix = f" [{v.name}]"
    cells = [_cell(a.attack.removesuffix(suffix), a) for a in attacks]
    utility = next((a.findings["utility"] for a in attacks
                    if a.scored and "utility" in a.findings), None) or {}
    judged = [c for c in cells if c.at_chance is not None]
    worst = max(judged, key=_exposure, default=None)
    return ReleaseVariant(
        name=v.name, generator=dict(v.overrides["generator"]), cells=cells,
        tstr_accuracy=utility.get("tstr_accuracy"), trtr_accuracy=utility.get("trtr_accuracy"),
        mean_similarity=utility.get("mean_similarity"),
        strongest_attack=worst.attack if worst else None,
        risk_level=worst.risk_level if worst else "unknown",
        at_chance=all(c.at_chance for c in judged) if judged else None,
    )


def _exposure(c: ReleaseCell) -> tuple[int, float]:
    """Attacks off chance first, then by how far the interval's lower end is from chance."""
    assert c.estimate is not None
    chance = 0.5 if c.measure == "AUC" else 0.0
    return (0 if c.at_chance else 1, c.estimate.lower - chance)


def build_release_sweep(variants: Sequence[VariantOutcomes],
                        attacks: Sequence[AttackReport]) -> ReleaseSection:
    """The comparison; ``attacks`` are every variant's reports, in the variants' order."""
    entries: list[ReleaseVariant] = []
    start = 0
    for v in variants:
        entries.append(release_variant(v, attacks[start:start + len(v.outcomes)]))
        start += len(v.outcomes)
    columns = [c.attack for c in entries[0].cells] if entries else []
    return ReleaseSection(attacks=columns, variants=entries, summary=summary(entries))


def _cell_text(e: ReleaseVariant) -> str:
    c = next(c for c in e.cells if c.attack == e.strongest_attack)
    assert c.estimate is not None
    return f"{c.attack}: {c.measure} {interval(c.estimate, c.measure != 'AUC')}"


def summary(entries: Sequence[ReleaseVariant]) -> str:
    """Plain language, from the numbers only (see the module docstring)."""
    measured = [e for e in entries if e.at_chance is not None]
    if not measured:
        return "No attack finished on any generator, so the releases cannot be compared."
    text: list[str] = []
    exposed = [e for e in measured if not e.at_chance]
    safe = [e for e in measured if e.at_chance]
    if exposed:
        text.append("Attacks beat the control records on " + "; ".join(
            f"{e.name} (strongest {_cell_text(e)})" for e in exposed) + ".")
    if safe:
        best = max(safe, key=lambda e: e.tstr_accuracy or 0.0)
        scores = (f"a model trained on it scores {best.tstr_accuracy * 100:.1f} % on real "
                  "records" if best.tstr_accuracy is not None else "")
        useful = (f" ({scores})" if len(safe) == 1 else
                  f"; the most useful of them is {best.name} ({scores})") if scores else ""
        text.append(f"Every attack is at chance within its {CONFIDENCE * 100:.0f} % confidence "
                    f"interval on {', '.join(e.name for e in safe)}{useful}.")
    else:
        text.append("No generator brings every attack to chance within its confidence "
                    "interval.")
    missing = [e.name for e in entries if e.at_chance is None]
    if missing:
        text.append(f"No attack finished on {', '.join(missing)}.")
    return " ".join(text)
