"""Disparate vulnerability: one membership attack measured within each subgroup of the audit
set (the values of a categorical attribute, ``audit.subgroups``).

Kulynych, Yaghini, Cherubin, Veale and Troncoso, "Disparate Vulnerability to Membership
Inference Attacks" (PETS 2022), show that an attack's average success hides subgroups that are
far more exposed than the rest, and that defences such as DP-SGD narrow the gap unevenly. Here
each subgroup gets its own ROC (its members against its non-members), so its TPR at the fixed
FPR is what an attacker who calibrates on that subgroup achieves; the 95 % intervals are the
usual stratified bootstrap over the subgroup's records. A subgroup with fewer than 1 / FPR
non-members cannot resolve that FPR (only FPR 0 fits): it is marked ``resolvable: false``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leakrange.metrics import compute_mia_metrics
from leakrange.metrics.mia_metrics import percent_key


def subgroup_findings(scores: np.ndarray, is_member: np.ndarray, names: tuple[str, ...],
                      codes: np.ndarray, attribute: str, fpr: float, *, n_bootstrap: int,
                      seed: int) -> dict[str, Any]:
    """TPR at ``fpr`` and AUC with intervals per subgroup, and the widest resolvable gap."""
    key = percent_key(fpr)
    groups: list[dict[str, Any]] = []
    for code, name in enumerate(names):
        inside = codes == code
        n1 = int((inside & is_member).sum())
        n0 = int((inside & ~is_member).sum())
        entry: dict[str, Any] = {"value": name, "n_members": n1, "n_nonmembers": n0,
                                 "resolvable": n0 * fpr >= 1.0}
        if n1 and n0:
            m = compute_mia_metrics(scores[inside], is_member[inside], fprs=(fpr,),
                                    operating_fprs=(), n_bootstrap=n_bootstrap,
                                    seed=seed + code)
            entry["tpr"] = m.tpr_at_fpr[key].model_dump()
            entry["auc"] = m.auc.model_dump()
        groups.append(entry)
    measured = [g for g in groups if g["resolvable"] and "tpr" in g]
    out: dict[str, Any] = {"attribute": attribute, "fpr": fpr, "fpr_key": key, "groups": groups}
    if len(measured) >= 2:
        most = max(measured, key=lambda g: g["tpr"]["value"])
        least = min(measured, key=lambda g: g["tpr"]["value"])
        out["most_exposed"] = most["value"]
        out["least_exposed"] = least["value"]
        out["gap"] = most["tpr"]["value"] - least["tpr"]["value"]
        # The gap is clear when the two intervals do not overlap.
        out["gap_clear"] = bool(most["tpr"]["ci_low"] is not None
                                and least["tpr"]["ci_high"] is not None
                                and most["tpr"]["ci_low"] > least["tpr"]["ci_high"])
    return out
