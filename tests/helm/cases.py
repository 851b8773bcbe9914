"""The values matrix the chart tests render (case id -> values files, later ones override)."""

from __future__ import annotations

from pathlib import Path

from tests.helm.rendering import CONTROL_BASE, EXERCISE_BASE, VALUES_DIR

# case id -> values files, rendered in this order (later files override earlier ones).
CONTROL_CASES: dict[str, list[Path]] = {
    "defaults": [CONTROL_BASE],
    "external-s3": [CONTROL_BASE, VALUES_DIR / "control-external-s3.yaml"],
    "servicemonitor": [CONTROL_BASE, VALUES_DIR / "control-servicemonitor.yaml"],
    "no-networkpolicy": [CONTROL_BASE, VALUES_DIR / "control-no-networkpolicy.yaml"],
    "tls": [CONTROL_BASE, VALUES_DIR / "control-tls.yaml"],
    "endpoints": [CONTROL_BASE, VALUES_DIR / "control-endpoints.yaml"],
    "endpoints-cidrs": [CONTROL_BASE, VALUES_DIR / "control-endpoints-cidrs.yaml"],
}
EXERCISE_CASES: dict[str, list[Path]] = {
    "minimal": [EXERCISE_BASE],
    "gpus": [EXERCISE_BASE, VALUES_DIR / "exercise-gpus.yaml"],
    "families": [EXERCISE_BASE, VALUES_DIR / "exercise-families.yaml"],
    "external-store": [EXERCISE_BASE, VALUES_DIR / "exercise-external-store.yaml"],
    "no-networkpolicy": [EXERCISE_BASE, VALUES_DIR / "exercise-no-networkpolicy.yaml"],
    "no-target": [EXERCISE_BASE, VALUES_DIR / "exercise-no-target.yaml"],
    "endpoint": [EXERCISE_BASE, VALUES_DIR / "exercise-endpoint.yaml"],
    "tls": [EXERCISE_BASE, VALUES_DIR / "exercise-tls.yaml"],
    "federated": [EXERCISE_BASE, VALUES_DIR / "exercise-federated.yaml"],
    "federated-run": [EXERCISE_BASE, VALUES_DIR / "exercise-federated-run.yaml"],
    "reference-jobs": [EXERCISE_BASE, VALUES_DIR / "exercise-reference-jobs.yaml"],
}
# Rendered from the control plane's own exercise-values.yaml + one exercise's spec.
FROM_CONTROL_PLANE = "from-control-plane"

CONTROL_IDS = [f"control/{case}" for case in CONTROL_CASES]
EXERCISE_IDS = [f"exercise/{case}" for case in [*EXERCISE_CASES, FROM_CONTROL_PLANE]]
ALL_IDS = CONTROL_IDS + EXERCISE_IDS
