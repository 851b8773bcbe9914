"""Scoring an adversary's per-record scores against the audit set's ground truth (range side)."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.artifacts import MEDIA_TENSORS, ArtifactRef, ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument
from leakrange.metrics import compute_mia_metrics
from leakrange.orchestrator.records import MetricValue

HEADLINE_FPRS = ("1%", "0.1%")


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


def headline_metrics(
    scores: np.ndarray, is_member: np.ndarray, n_bootstrap: int, seed: int
) -> tuple[MetricValue, ...]:
    """AUC, TPR at 1 % and 0.1 % FPR and the membership advantage, with 95 % intervals."""
    m = compute_mia_metrics(scores, is_member, n_bootstrap=n_bootstrap, seed=seed)
    values = [MetricValue("auc", m.auc.value, m.auc.ci_low, m.auc.ci_high)]
    for key in HEADLINE_FPRS:
        if key in m.tpr_at_fpr:
            e = m.tpr_at_fpr[key]
            values.append(MetricValue(f"tpr_at_{key}_fpr", e.value, e.ci_low, e.ci_high))
    values.append(MetricValue("advantage", m.advantage.value, m.advantage.ci_low,
                              m.advantage.ci_high))
    return tuple(values)


def store_scores(store: ArtifactStore, scores: np.ndarray) -> ArtifactRef:
    return store.put_bytes(save_tensors({"scores": scores.astype("<f8")}), MEDIA_TENSORS)


def load_scores(store: ArtifactStore, ref: ArtifactRef) -> np.ndarray:
    try:
        return np.asarray(load_tensors(store.get_bytes(ref))["scores"], dtype=np.float64)
    except (KeyError, ValueError) as err:
        raise IntegrityError("stored scores are corrupted") from err
