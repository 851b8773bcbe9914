"""Scorer for attribute results: one guess of the hidden attribute per audit record.

What counts is what the model adds (Jayaraman & Evans, "Are Attribute Inference Attacks Just
Imputation?", ACM CCS 2022): accuracy on the model's training records (members) against an
imputation baseline that guesses the attribute from the adversary's own records without the
model, and against the same attack on non-members (does it exploit memorisation, or only the
distribution?). Rates carry 95 % Wilson intervals, differences paired-bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import ATTRIBUTE
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import from_proto
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import RiskLevel
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.rates import mean_difference, rate
from leakrange.scoring.tensor_results import load_arrays, store_arrays
from leakrange.v1 import attack_pb2

GLOSSARY = (
    ("Attribute inference", "The attacker knows a person's other details and the model's "
     "answer, and tries to fill in one secret detail (the hidden attribute)."),
    ("Imputation baseline", "How often the secret is guessed right from the attacker's own "
     "data alone, without the model. Only accuracy above it is due to the model."),
    ("Model adds", "Attack accuracy on training records minus the baseline's, in percentage "
     "points."),
)


def check_guesses(result: attack_pb2.AttackResult, truth: Any) -> np.ndarray:
    if "guesses" not in result.outputs:
        raise InvalidArgument("result.outputs.guesses", "required")
    guesses = from_proto(result.outputs["guesses"], "result.outputs.guesses",
                         max_elements=len(truth))
    if guesses.dtype.kind not in "iu" or guesses.shape != (len(truth),):
        raise InvalidArgument("result.outputs.guesses", "expected one value per audit record")
    if guesses.min() < 0 or guesses.max() >= len(truth.value_names):
        raise InvalidArgument("result.outputs.guesses", "must be value indices")
    return guesses.astype(np.int64)


def attribute_estimates(guesses: np.ndarray, truth_values: np.ndarray, baseline: np.ndarray,
                        is_member: np.ndarray, n_bootstrap: int, seed: int
                        ) -> dict[str, Estimate]:
    hit = guesses == truth_values
    base = baseline == truth_values
    m = is_member
    return {
        "accuracy_members": rate(hit[m]),
        "accuracy_nonmembers": rate(hit[~m]),
        "baseline_members": rate(base[m]),
        "baseline_nonmembers": rate(base[~m]),
        "model_adds": mean_difference(hit[m], base[m], n_bootstrap, seed),
        "member_gap": Estimate(value=float(hit[m].mean() - hit[~m].mean()))
        if m.any() and (~m).any() else Estimate(value=0.0),
    }


def attribute_risk(adds: Estimate) -> RiskLevel:
    if adds.lower <= 0.0:
        return "low"
    if adds.value >= 0.25:
        return "critical"
    return "high" if adds.value >= 0.10 else "medium"


class AttributeScorer(Scorer):
    result_kind: ClassVar[str] = ATTRIBUTE
    section: ClassVar[SectionSpec] = SectionSpec(
        title="Attribute inference", template="sections/attribute.html.j2", glossary=GLOSSARY,
    )

    def accept(self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
               n_bootstrap: int, seed: int) -> Accepted:
        guesses = check_guesses(result, truth)
        est = attribute_estimates(guesses, truth.values, truth.baseline, truth.is_member,
                                  n_bootstrap, seed)
        return Accepted(artifact=store_arrays(store, {"guesses": guesses}), headline=tuple(
            (k, est[k]) for k in ("accuracy_members", "baseline_members", "model_adds")))

    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        guesses = load_arrays(store, artifact, ("guesses",))["guesses"]
        return {"evidence": {"guesses": guesses, "values": truth.values,
                             "baseline": truth.baseline, "is_member": truth.is_member,
                             "attribute": truth.attribute,
                             "n_values": len(truth.value_names)}}

    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        common = outcome.common()
        ev = outcome.evidence
        if "guesses" not in ev:
            return AttackReport(status="failed", message="no guesses", **common)
        est = attribute_estimates(np.asarray(ev["guesses"]), ev["values"], ev["baseline"],
                                  np.asarray(ev["is_member"], bool), n_bootstrap, seed)
        findings: dict[str, Any] = {k: v.model_dump() for k, v in est.items()}
        findings.update(attribute=ev["attribute"], n_values=int(ev["n_values"]),
                        n_members=int(np.count_nonzero(ev["is_member"])),
                        n_nonmembers=int(np.count_nonzero(~np.asarray(ev["is_member"], bool))))
        return AttackReport(status="succeeded", risk_level=attribute_risk(est["model_adds"]),
                            findings=findings, **common)

    def strength(self, report: AttackReport) -> tuple[float, ...]:
        f = report.findings
        return (float(f["model_adds"]["value"]), float(f["accuracy_members"]["value"]))

    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        f = worst.findings
        acc, base, adds = (f["accuracy_members"]["value"], f["baseline_members"]["value"],
                           f["model_adds"])
        text = (f"An attacker {attacker} who knows everything about a person in the training "
                f"data except their {f['attribute']} guesses it right {acc * 100:.0f} % of "
                f"the time; from its own data alone, without the model, it would guess "
                f"{base * 100:.0f} %. ")
        if adds["ci_low"] is not None and adds["ci_low"] > 0:
            text += (f"The model adds {adds['value'] * 100:.1f} percentage points (95 % CI "
                     f"{adds['ci_low'] * 100:.1f} to {adds['ci_high'] * 100:.1f}).")
        else:
            text += "The model adds nothing measurable beyond what the attacker's data gives."
        if n_scored > 1:
            text += f" (Strongest of the {n_scored} attacks run: {worst.label}.)"
        return text

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        return {}
