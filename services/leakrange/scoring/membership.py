"""Scorer for membership results: one score per audit record (higher = more likely a member),
judged against the audit set's membership labels.

Metrics follow the field's conventions (Carlini et al., "Membership Inference Attacks From
First Principles", IEEE S&P 2022): TPR at low FPR with bootstrap intervals, the log-log ROC,
AUC, the membership advantage and precision under realistic membership priors. The risk level
and the plain-language verdict are ``metrics.risk``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.artifacts import MEDIA_TENSORS, ArtifactRef, ArtifactStore
from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.errors import IntegrityError, InvalidArgument
from leakrange.common.tensors import from_proto
from leakrange.metrics import compute_mia_metrics
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import plain_summary, risk_level
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.dp_audit import dp_audit_findings
from leakrange.scoring.findings import (
    AttackReport,
    ScoreHistogram,
    ScoreTies,
    VulnerableRecord,
)
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.subgroups import subgroup_findings
from leakrange.v1 import attack_pb2

HEADLINE_FPRS = ("1%", "0.1%")
HISTOGRAM_BINS = 30
TOP_VULNERABLE = 10

GLOSSARY = (
    ("Member / non-member", "A member is a record that was used to train the model; a "
     "non-member is a similar record that was not."),
    ("TPR (true positive rate)", "The share of training records the attacker correctly picks "
     "out. 5 % means 1 in 20."),
    ("FPR (false positive rate)", "The share of non-members the attacker wrongly accuses of "
     "being in the training data."),
    ("TPR at 1 % FPR", "How many training records the attacker finds if it may wrongly accuse "
     "at most 1 in 100 non-members. Guessing gives 1 %; anything clearly above means real "
     "leakage. The lower the FPR, the more damaging a high TPR."),
    ("AUC (area under the ROC curve)", "The chance that the attack scores a random training "
     "record higher than a random non-member. 0.5 is guessing, 1.0 is perfect. It averages "
     "over all thresholds, so it can hide an attack that is very precise on a few records: "
     "read it together with TPR at low FPR."),
    ("Empirical epsilon (DP audit)", "A lower bound on the privacy loss epsilon that the "
     "attack's success proves, with 95 % confidence. If it is above the epsilon the training "
     "claims, the model does not have the differential-privacy guarantee it advertises."),
    ("Precision at a prior", "If a given share of the people checked really were in the "
     "training data (the prior), the share of the attacker's accusations that would be right."),
    ("Tied scores", "Records the attack gave exactly the same score (common when the model's "
     "outputs are rounded). The attack cannot rank them against each other, so at a very low "
     "false-positive rate it must flag a whole group or none of it: TPR there can be 0 % while "
     "AUC, which counts a tie as half right, is above 0.5."),
)


def check_scores(scores: np.ndarray, audit_size: int) -> np.ndarray:
    """One finite score per audit record, as float64."""
    arr = np.asarray(scores)
    if arr.ndim != 1 or len(arr) != audit_size:
        raise InvalidArgument("result.scores", "expected one score per audit record")
    if arr.dtype.kind not in "fiu":
        raise InvalidArgument("result.scores", "must be numbers")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InvalidArgument("result.scores", "contains NaN or infinite values")
    return arr


def headline_estimates(
    scores: np.ndarray, is_member: np.ndarray, n_bootstrap: int, seed: int
) -> tuple[tuple[str, Estimate], ...]:
    """AUC, TPR at 1 % and 0.1 % FPR and the membership advantage, with 95 % intervals."""
    m = compute_mia_metrics(scores, is_member, n_bootstrap=n_bootstrap, seed=seed)
    values: list[tuple[str, Estimate]] = [("auc", m.auc)]
    values += [(f"tpr_at_{key}_fpr", m.tpr_at_fpr[key]) for key in HEADLINE_FPRS
               if key in m.tpr_at_fpr]
    values.append(("advantage", m.advantage))
    return tuple(values)


def store_scores(store: ArtifactStore, scores: np.ndarray) -> ArtifactRef:
    return store.put_bytes(save_tensors({"scores": scores.astype("<f8")}), MEDIA_TENSORS)


def load_scores(store: ArtifactStore, ref: ArtifactRef) -> np.ndarray:
    try:
        return np.asarray(load_tensors(store.get_bytes(ref))["scores"], dtype=np.float64)
    except (KeyError, ValueError) as err:
        raise IntegrityError("stored scores are corrupted") from err


def score_histogram(scores: np.ndarray, is_member: np.ndarray, bins: int) -> ScoreHistogram:
    """Member and non-member score counts over bin edges shared by both."""
    edges = np.histogram_bin_edges(scores, bins=bins)
    members, _ = np.histogram(scores[is_member], bins=edges)
    nonmembers, _ = np.histogram(scores[~is_member], bins=edges)
    return ScoreHistogram(
        bins=edges.tolist(), members=members.tolist(), nonmembers=nonmembers.tolist()
    )


def score_ties(scores: np.ndarray) -> ScoreTies:
    """How many records share their score with another record, and the largest such group."""
    _, counts = np.unique(scores, return_counts=True)
    return ScoreTies(tied_records=int(counts[counts > 1].sum()),
                     largest_group=int(counts.max()) if len(counts) else 0,
                     distinct_scores=len(counts))


def most_vulnerable(scores: np.ndarray, is_member: np.ndarray, k: int) -> list[VulnerableRecord]:
    """The k members with the highest scores, as audit-set indices. Records whose score another
    audit record shares are marked ``tied``: their order (by index) says nothing."""
    idx = np.flatnonzero(is_member)
    order = idx[np.lexsort((idx, -scores[idx]))][:k]
    values, counts = np.unique(scores, return_counts=True)
    shared = set(values[counts > 1].tolist())
    return [
        VulnerableRecord(record_index=int(i), score=float(scores[i]), rank=r,
                         tied=float(scores[i]) in shared)
        for r, i in enumerate(order, start=1)
    ]


class MembershipScorer(Scorer):
    result_kind: ClassVar[str] = MEMBERSHIP
    section: ClassVar[SectionSpec] = SectionSpec(
        title="Membership inference", template="sections/membership.html.j2",
        glossary=GLOSSARY,
    )

    def accept(
        self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
        n_bootstrap: int, seed: int,
    ) -> Accepted:
        scores = check_scores(from_proto(result.scores, "result.scores"), len(truth))
        return Accepted(
            artifact=store_scores(store, scores),
            headline=headline_estimates(scores, truth.is_member, n_bootstrap, seed),
        )

    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        evidence: dict[str, Any] = {"scores": load_scores(store, artifact),
                                    "is_member": truth.is_member}
        extra: dict[str, Any] = {}
        claim = getattr(truth, "dp_claim", None)
        if claim is not None:
            extra["dp_claim"] = claim
        groups = getattr(truth, "subgroups", None)
        if groups is not None:
            extra["subgroups"] = groups
        if extra:
            evidence["evidence"] = extra
        return evidence

    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        common = outcome.common()
        if outcome.scores is None or outcome.is_member is None:
            return AttackReport(status="failed", message="no scores", **common)
        try:
            metrics = compute_mia_metrics(outcome.scores, outcome.is_member,
                                          n_bootstrap=n_bootstrap, seed=seed)
        except InvalidArgument as err:
            return AttackReport(status="failed", message=str(err), **common)
        scores = np.asarray(outcome.scores, dtype=np.float64)
        member = np.asarray(outcome.is_member).astype(bool)
        claim = outcome.evidence.get("dp_claim")
        findings: dict[str, Any] = {}
        if claim:
            findings["dp_audit"] = dp_audit_findings(scores, member, claim, seed)
        groups = outcome.evidence.get("subgroups")
        if groups is not None:
            findings["subgroups"] = subgroup_findings(
                scores, member, groups.names, groups.codes, groups.attribute, groups.fpr,
                n_bootstrap=n_bootstrap, seed=seed)
        return AttackReport(
            status="succeeded", metrics=metrics, risk_level=risk_level(metrics), findings=findings,
            score_histogram=score_histogram(scores, member, HISTOGRAM_BINS),
            most_vulnerable=most_vulnerable(scores, member, TOP_VULNERABLE),
            ties=score_ties(scores), **common,
        )

    def strength(self, report: AttackReport) -> tuple[float, ...]:
        m = report.metrics
        if m is None:
            return (-1.0,)
        tpr = m.tpr_at_fpr
        return (
            tpr["0.1%"].value if "0.1%" in tpr else 0.0,
            tpr["1%"].value if "1%" in tpr else 0.0,
            m.auc.value,
        )

    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        assert worst.metrics is not None
        summary = plain_summary(worst.metrics, train_size or 0, attacker)
        if n_scored > 1:
            summary += f" (Strongest of the {n_scored} attacks run: {worst.label}.)"
        return summary

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        from leakrange.report.plots import histogram_plot, roc_plot

        confidence = next((a.metrics.confidence for a in attacks if a.metrics), 0.95)
        return {"roc_uri": roc_plot(list(attacks)), "confidence": confidence,
                "histograms": [histogram_plot(a) for a in attacks]}
