"""Scorer for reconstructed records of a federated client's batch (gradient / update inversion).

Each reconstruction names the update it came from (round, client). Within one update, the
reconstructions are matched one-to-one to that client's true records by the Hungarian method
on mean squared error (``scipy.optimize.linear_sum_assignment``), as in Geiping et al. 2020 and
the ``breaching`` benchmark; each matched pair is scored with PSNR and, for images, SSIM
(Wang et al. 2004; ``metrics/image_metrics.py``) over values clipped to the data range, and with
whether its label equals the matched record's. Recovered labels are also scored on their own as
a multiset against the batch's labels (order-free, as label-recovery papers report them).
A record counts as recognisable at PSNR >= 20 dB (images in [0, 1]: RMS error <= 0.1).
Tabular records are also scored per feature: the share of categorical features rebuilt exactly
(the largest of its one-hot columns) and the mean absolute error of the numeric ones.
Every number is stated with the FL setting (clients, batch size, local steps, round).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import RECORD_RECONSTRUCTION
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import from_proto
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.image_metrics import psnr, ssim
from leakrange.metrics.reconstruction_matching import match_by_mse
from leakrange.metrics.risk import RiskLevel
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.rates import median_estimate, rate
from leakrange.scoring.tensor_results import load_arrays, store_arrays
from leakrange.v1 import attack_pb2

MAX_RECONSTRUCTIONS = 100_000
RECOGNISABLE_DB = 20.0
MAX_GRID = 16
FIELDS = ("reconstructions", "originals", "psnr", "ssim", "label_ok", "round", "client",
          "batch", "labels_recovered", "labels_total", "categorical_accuracy", "numeric_error")

GLOSSARY = (
    ("Gradient inversion", "Rebuilding a participant's training records from the model update "
     "it sent to the server in federated learning."),
    ("PSNR", "Peak signal-to-noise ratio in decibels between a rebuilt record and the true one; "
     "higher is closer. From about 20 dB a small image is recognisable; identical images give "
     "infinity."),
    ("SSIM", "Structural similarity between a rebuilt image and the true one, from 0 (unrelated) "
     "to 1 (identical), judged on local brightness, contrast and structure."),
    ("FedSGD", "Federated training where each client takes a single gradient step on one batch "
     "per round, so its update is the batch's gradient."),
    ("Local steps", "How many mini-batch steps a client takes before sending its update; more "
     "steps mix the records of the batch and usually make inversion harder."),
)


ROLE_WORDS = {
    "honest_server": "the federation's server, honest but curious: it runs FedAvg as agreed "
                     "and keeps every client update it receives",
    "malicious_server": "the federation's server, malicious: it may send the clients a "
                        "modified global model before a round it chooses",
    "client": "one of the clients: it sees only the global models it receives",
}


def _group_keys(rounds: np.ndarray, clients: np.ndarray) -> list[tuple[int, int]]:
    return sorted({(int(r), int(c)) for r, c in zip(rounds, clients, strict=True)})


def check_result(result: attack_pb2.AttackResult, truth: Any
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    shape = tuple(truth.input_shape)
    recon = from_proto(result.reconstructions, "result.reconstructions",
                       max_elements=MAX_RECONSTRUCTIONS * int(np.prod(shape)))
    if recon.dtype.kind != "f" or tuple(recon.shape[1:]) != shape or len(recon) == 0:
        raise InvalidArgument("result.reconstructions", "must be records of the data's shape")
    if not np.isfinite(recon).all():
        raise InvalidArgument("result.reconstructions", "contains NaN or infinite values")
    labels = from_proto(result.reconstructed_labels, "result.reconstructed_labels",
                        max_elements=MAX_RECONSTRUCTIONS)
    if labels.dtype.kind not in "iu" or labels.shape != (len(recon),) \
            or labels.min() < 0 or labels.max() >= truth.num_classes:
        raise InvalidArgument("result.reconstructed_labels", "must be one class per record")
    out = []
    for key, limit in (("round", 10_000), ("client", len(truth.x))):
        if key not in result.outputs:
            raise InvalidArgument(f"result.outputs.{key}", "required (which update)")
        v = from_proto(result.outputs[key], f"result.outputs.{key}",
                       max_elements=MAX_RECONSTRUCTIONS)
        if v.dtype.kind not in "iu" or v.shape != (len(recon),) or v.min() < 0 \
                or v.max() >= limit:
            raise InvalidArgument(f"result.outputs.{key}", "must be one valid index per record")
        out.append(v.astype(np.int64))
    return recon.astype(np.float32), labels.astype(np.int64), out[0], out[1]


def feature_groups(names: Sequence[str] | None, width: int
                   ) -> tuple[list[list[int]], list[int]]:
    """Tabular records: the one-hot column groups of each categorical feature ("col=value")
    and the numeric columns."""
    if not names or len(names) != width:
        return [], list(range(width))
    groups: dict[str, list[int]] = {}
    numeric: list[int] = []
    for j, name in enumerate(names):
        if "=" in name:
            groups.setdefault(name.split("=", 1)[0], []).append(j)
        else:
            numeric.append(j)
    return list(groups.values()), numeric


def per_feature(a: np.ndarray, b: np.ndarray, names: Sequence[str] | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per record: the share of categorical features rebuilt exactly (the largest one-hot
    column), and the mean absolute error over numeric features (in the data's units)."""
    fa, fb = a.reshape(len(a), -1), b.reshape(len(b), -1)
    groups, numeric = feature_groups(names, fa.shape[1])
    cat = (np.mean([fa[:, g].argmax(1) == fb[:, g].argmax(1) for g in groups], axis=0)
           if groups else np.full(len(fa), np.nan))
    num = (np.abs(fa[:, numeric] - fb[:, numeric]).mean(1) if numeric
           else np.full(len(fa), np.nan))
    return np.asarray(cat, np.float64), np.asarray(num, np.float64)


def multiset_hits(guess: np.ndarray, true: np.ndarray) -> int:
    a, b = Counter(int(v) for v in guess), Counter(int(v) for v in true)
    return sum(min(n, b[k]) for k, n in a.items())


def match(recon: np.ndarray, labels: np.ndarray, rounds: np.ndarray, clients: np.ndarray,
          truth: Any) -> dict[str, np.ndarray]:
    """Hungarian matching within each update, and the per-pair scores."""
    lo, hi = (0.0, 1.0) if truth.is_image else (float(np.min([x.min() for x in truth.x])),
                                                float(np.max([x.max() for x in truth.x])))
    span = max(hi - lo, 1e-12)
    cols: dict[str, list[Any]] = {k: [] for k in FIELDS}
    for r, c in _group_keys(rounds, clients):
        sel = np.flatnonzero((rounds == r) & (clients == c))
        rx = np.clip(recon[sel], lo, hi)
        tx, ty = truth.x[c].astype(np.float32), truth.y[c]
        ri, ti = match_by_mse(rx, tx)
        a, b = (rx[ri] - lo) / span, (tx[ti] - lo) / span
        img_a = a if a.ndim == 4 else a.reshape(len(a), 1, 1, -1)
        img_b = b if b.ndim == 4 else b.reshape(len(b), 1, 1, -1)
        cols["psnr"].append(np.minimum(np.asarray(psnr(img_a, img_b), np.float64), 100.0))
        cols["ssim"].append(np.asarray(ssim(img_a, img_b), np.float64) if truth.is_image
                            and min(a.shape[-2:]) >= 3 else np.full(len(ri), np.nan))
        cols["label_ok"].append(labels[sel][ri] == ty[ti])
        if truth.is_image:
            cat = num = np.full(len(ri), np.nan)
        else:
            cat, num = per_feature(rx[ri], tx[ti], getattr(truth, "feature_names", None))
        cols["categorical_accuracy"].append(cat)
        cols["numeric_error"].append(num)
        cols["reconstructions"].append(rx[ri])
        cols["originals"].append(tx[ti])
        cols["round"].append(np.full(len(ri), r, np.int64))
        cols["client"].append(np.full(len(ri), c, np.int64))
        cols["batch"].append(np.full(len(ri), len(tx), np.int64))
        cols["labels_recovered"].append(np.asarray([multiset_hits(labels[sel], ty)], np.int64))
        cols["labels_total"].append(np.asarray([len(ty)], np.int64))
    return {k: np.concatenate(v) for k, v in cols.items()}


def _nan_median(values: np.ndarray) -> float | None:
    v = np.asarray(values, np.float64)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else None


def recon_risk(recognisable: Estimate, label_acc: Estimate, chance: float) -> RiskLevel:
    if recognisable.value >= 0.5:
        return "critical"
    if recognisable.value > 0:
        return "high"
    return "medium" if (label_acc.ci_low or 0.0) > chance else "low"


class RecordReconstructionScorer(Scorer):
    result_kind: ClassVar[str] = RECORD_RECONSTRUCTION
    section: ClassVar[SectionSpec] = SectionSpec(
        title="Federated learning: records rebuilt from client updates",
        template="sections/record_reconstruction.html.j2", glossary=GLOSSARY,
    )

    def accept(self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
               n_bootstrap: int, seed: int) -> Accepted:
        arrays = match(*check_result(result, truth), truth)
        return Accepted(artifact=store_arrays(store, arrays), headline=(
            ("median_psnr", median_estimate(arrays["psnr"], n_bootstrap, seed)),
            ("recognisable", rate(arrays["psnr"] >= RECOGNISABLE_DB)),
            ("label_accuracy", rate(arrays["label_ok"])),
        ))

    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        arrays = load_arrays(store, artifact, FIELDS)
        return {"evidence": {**arrays, "num_classes": truth.num_classes,
                             "is_image": truth.is_image, "setting": dict(truth.setting)}}

    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        common = outcome.common()
        ev = outcome.evidence
        if "psnr" not in ev:
            return AttackReport(status="failed", message="no reconstructions", **common)
        p = np.asarray(ev["psnr"], np.float64)
        recognisable = rate(p >= RECOGNISABLE_DB)
        label_acc = rate(np.asarray(ev["label_ok"], bool))
        recovered, total = int(ev["labels_recovered"].sum()), int(ev["labels_total"].sum())
        chance = 1.0 / float(ev["num_classes"])
        s = np.asarray(ev["ssim"], np.float64)
        per_update = []
        for r, c in _group_keys(ev["round"], ev["client"]):
            sel = (ev["round"] == r) & (ev["client"] == c)
            per_update.append({"round": r, "client": c, "batch": int(ev["batch"][sel][0]),
                               "recognisable": int((p[sel] >= RECOGNISABLE_DB).sum()),
                               "median_psnr": float(np.median(p[sel]))})
        figure = None
        if ev["is_image"]:
            from leakrange.report.federated_plots import pair_grid

            order = np.argsort(-p)[:MAX_GRID]
            figure = pair_grid(ev["reconstructions"][order], ev["originals"][order], p[order])
        return AttackReport(status="succeeded", risk_level=recon_risk(
            recognisable, label_acc, chance), findings={
            "median_psnr": median_estimate(p, n_bootstrap, seed).model_dump(),
            "median_ssim": float(np.nanmedian(s)) if np.isfinite(s).any() else None,
            "recognisable": recognisable.model_dump(), "recognisable_db": RECOGNISABLE_DB,
            "records": len(p), "batch_records": int(sum(u["batch"] for u in per_update)),
            "label_accuracy": label_acc.model_dump(), "chance": chance,
            "labels_recovered": recovered, "labels_total": total,
            "per_update": per_update, "setting": ev["setting"], "figure": figure,
            "rounds": sorted({u["round"] for u in per_update}),
            "categorical_accuracy": _nan_median(ev["categorical_accuracy"]),
            "numeric_error": _nan_median(ev["numeric_error"]),
            "clients_attacked": sorted({u["client"] for u in per_update}),
        }, **common)

    def strength(self, report: AttackReport) -> tuple[float, ...]:
        f = report.findings
        return (float(f["recognisable"]["value"]), float(f["median_psnr"]["value"]))

    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        f = worst.findings
        s = f["setting"]
        k = round(float(f["recognisable"]["value"]) * f["records"])
        who = {"honest_server": "A curious server", "malicious_server": "A malicious server",
               "client": "A curious client"}.get(s.get("role", ""), "An attacker")
        updates = ("single-batch gradients (FedSGD)" if s.get("fedsgd") else
                   f"updates after {s.get('local_steps')} local steps")
        text = (f"{who} can recover recognisable records (PSNR >= {f['recognisable_db']:.0f} dB) "
                f"for about {k} in {f['batch_records']} records of the client batches it "
                f"attacked when clients send {updates} (batch {s.get('batch_size')}, "
                f"{s.get('clients')} clients); median PSNR "
                f"{float(f['median_psnr']['value']):.1f} dB, "
                + ("labels known to the attacker." if s.get("labels_known") else
                   f"labels right for {float(f['label_accuracy']['value']) * 100:.0f} %."))
        if n_scored > 1:
            text += f" (Strongest of the {n_scored} attacks run: {worst.label}.)"
        return text

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        roles = {a.findings["setting"].get("role", "") for a in attacks
                 if a.status == "succeeded"}
        return {"recognisable_db": RECOGNISABLE_DB,
                "roles": [ROLE_WORDS.get(r, r) for r in sorted(roles)],
                "labels_known": any(a.findings["setting"].get("labels_known") for a in attacks
                                    if a.status == "succeeded")}
