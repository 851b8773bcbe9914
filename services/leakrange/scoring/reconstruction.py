"""Scorer for reconstruction results: one reconstructed input per attacked class.

Judged the way the model-inversion literature does (Zhang et al., CVPR 2020): an evaluation
classifier that the range trains on held-out data (never the target, never its training data)
labels each reconstruction; "attack accuracy" is how often it agrees with the attacked class
(chance = 1 / classes). The distance of each reconstruction to its nearest training member of
that class, over its distance to the nearest non-member of the class, says whether it looks
like the training data in particular (< 1) or like the class in general (~1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import RECONSTRUCTION
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import from_proto
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import RiskLevel
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.rates import median_estimate, rate
from leakrange.scoring.tensor_results import load_arrays, store_arrays
from leakrange.v1 import attack_pb2

MAX_RECONSTRUCTIONS = 10_000
FIELDS = ("reconstructions", "labels", "predicted", "d_member", "d_nonmember", "nearest")

GLOSSARY = (
    ("Reconstruction", "An input the attacker rebuilt from the model alone, meant to look like "
     "the training data of one class."),
    ("Evaluation accuracy", "How often a separate classifier, trained by the range on data the "
     "model never saw, recognises a reconstruction as the class it was built for. Guessing "
     "gives 1 in the number of classes."),
    ("Distance ratio", "Distance of a reconstruction to the closest training record of its "
     "class, divided by its distance to the closest unseen record of that class. Below 1: it "
     "resembles the training records in particular."),
)


def check_reconstructions(result: attack_pb2.AttackResult, truth: Any
                          ) -> tuple[np.ndarray, np.ndarray]:
    recon = from_proto(result.reconstructions, "result.reconstructions",
                       max_elements=MAX_RECONSTRUCTIONS * int(np.prod(truth.input_shape)))
    labels = from_proto(result.reconstructed_labels, "result.reconstructed_labels",
                        max_elements=MAX_RECONSTRUCTIONS)
    if recon.dtype.kind != "f" or tuple(recon.shape[1:]) != truth.input_shape:
        raise InvalidArgument("result.reconstructions", "must be inputs of the target's shape")
    if not np.isfinite(recon).all():
        raise InvalidArgument("result.reconstructions", "contains NaN or infinite values")
    if labels.dtype.kind not in "iu" or labels.shape != (len(recon),):
        raise InvalidArgument("result.reconstructed_labels", "must be one class per input")
    if len(labels) == 0 or labels.min() < 0 or labels.max() >= truth.num_classes:
        raise InvalidArgument("result.reconstructed_labels", "must be class indices")
    return recon.astype(np.float32), labels.astype(np.int64)


def nearest(recon: np.ndarray, labels: np.ndarray, x: np.ndarray, y: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """RMS distance to the nearest record of the same class, and that record's index in x."""
    flat_r = recon.reshape(len(recon), -1).astype(np.float64)
    flat_x = x.reshape(len(x), -1).astype(np.float64)
    d2 = ((flat_r ** 2).sum(1)[:, None] - 2 * flat_r @ flat_x.T + (flat_x ** 2).sum(1)[None])
    d2 = np.where(labels[:, None] == y[None, :], np.maximum(d2, 0.0), np.inf)
    idx = d2.argmin(axis=1)
    dist = np.sqrt(d2[np.arange(len(recon)), idx] / flat_x.shape[1])
    return dist, idx


def reconstruction_risk(accuracy: Estimate, chance: float, ratio: Estimate) -> RiskLevel:
    if accuracy.lower <= chance:
        return "low"
    if accuracy.value >= 0.8 and ratio.upper < 0.9:
        return "critical"
    return "high" if accuracy.value >= 0.5 else "medium"


class ReconstructionScorer(Scorer):
    result_kind: ClassVar[str] = RECONSTRUCTION
    section: ClassVar[SectionSpec] = SectionSpec(
        title="Model inversion (reconstructions)", template="sections/reconstruction.html.j2",
        glossary=GLOSSARY,
    )

    def accept(self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
               n_bootstrap: int, seed: int) -> Accepted:
        from leakrange.models import predict_logits

        recon, labels = check_reconstructions(result, truth)
        predicted = predict_logits(truth.evaluator, recon).argmax(axis=1).astype(np.int64)
        d_mem, idx = nearest(recon, labels, truth.member_x, truth.member_y)
        d_non, _ = nearest(recon, labels, truth.nonmember_x, truth.nonmember_y)
        arrays = {"reconstructions": recon, "labels": labels, "predicted": predicted,
                  "d_member": d_mem, "d_nonmember": d_non,
                  "nearest": truth.member_x[idx].astype(np.float32)}
        ratio = d_mem / np.maximum(d_non, 1e-12)
        return Accepted(artifact=store_arrays(store, arrays), headline=(
            ("eval_accuracy", rate(predicted == labels)),
            ("distance_ratio", median_estimate(ratio, n_bootstrap, seed)),
        ))

    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        arrays = load_arrays(store, artifact, FIELDS)
        return {"evidence": {**arrays, "num_classes": truth.num_classes,
                             "is_image": truth.is_image}}

    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        common = outcome.common()
        ev = outcome.evidence
        if "labels" not in ev:
            return AttackReport(status="failed", message="no reconstructions", **common)
        labels, predicted = ev["labels"], ev["predicted"]
        accuracy = rate(predicted == labels)
        chance = 1.0 / float(ev["num_classes"])
        ratio = median_estimate(ev["d_member"] / np.maximum(ev["d_nonmember"], 1e-12),
                                n_bootstrap, seed)
        per_class = [{"label": int(c), "recognised_as": int(p), "distance_member": float(dm),
                      "distance_nonmember": float(dn)}
                     for c, p, dm, dn in zip(labels, predicted, ev["d_member"],
                                             ev["d_nonmember"], strict=True)]
        figure = None
        if ev["is_image"]:
            from leakrange.report.inversion_plots import reconstruction_grid

            figure = reconstruction_grid(ev["reconstructions"], ev["nearest"], labels)
        return AttackReport(status="succeeded", risk_level=reconstruction_risk(
            accuracy, chance, ratio), findings={
            "eval_accuracy": accuracy.model_dump(), "chance": chance,
            "distance_ratio": ratio.model_dump(), "per_class": per_class, "figure": figure,
        }, **common)

    def strength(self, report: AttackReport) -> tuple[float, ...]:
        f = report.findings
        return (float(f["eval_accuracy"]["value"]), -float(f["distance_ratio"]["value"]))

    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        f = worst.findings
        acc = f["eval_accuracy"]
        text = (f"An attacker {attacker} can rebuild inputs that an independent classifier "
                f"recognises as the intended class {acc['value'] * 100:.0f} % of the time "
                f"(95 % CI {acc['ci_low'] * 100:.0f}-{acc['ci_high'] * 100:.0f} %; guessing: "
                f"{f['chance'] * 100:.0f} %). ")
        ratio = float(f["distance_ratio"]["value"])
        text += ("The reconstructions are closer to the training records than to unseen "
                 f"records of the same class (distance ratio {ratio:.2f})."
                 if ratio < 0.95 else
                 f"They resemble the class in general, not training records in particular "
                 f"(distance ratio {ratio:.2f}).")
        if n_scored > 1:
            text += f" (Strongest of the {n_scored} attacks run: {worst.label}.)"
        return text

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        return {}
