"""The control plane turns reference-training fan-out on for every exercise
(``orchestrator.exercise.referenceTraining``), rendered by the real helm."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helm.rendering import (
    CONTROL_BASE,
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    VALUES_DIR,
    RenderError,
    render,
)

GPU_POOL = {"enabled": True, "gpu": 1, "runtimeClassName": "nvidia",
            "nodeSelector": {"nvidia.com/gpu.present": "true"}}


def _control(helm_bin: Path, tmp_path: Path, reference_training: object) -> dict[str, object]:
    values = tmp_path / "control.json"
    values.write_text(json.dumps(
        {"orchestrator": {"exercise": {"referenceTraining": reference_training}}}))
    manifests = render(helm_bin, CONTROL_CHART, [CONTROL_BASE, values], CONTROL_RELEASE)
    config = manifests.named("ConfigMap", "range-leakrange-orchestrator")
    return yaml.safe_load(config["data"]["exercise-values.yaml"])


def test_off_by_default(helm_bin: Path, tmp_path: Path) -> None:
    assert _control(helm_bin, tmp_path, {"enabled": False})["referenceTraining"] == {
        "enabled": False}


def test_every_exercise_gets_the_settings_and_its_job_pods_network_policy(
        helm_bin: Path, tmp_path: Path) -> None:
    defaults = _control(helm_bin, tmp_path, GPU_POOL)
    assert defaults["referenceTraining"] == GPU_POOL
    path = tmp_path / "exercise-values.yaml"
    path.write_text(yaml.safe_dump(defaults))
    exercise = render(helm_bin, EXERCISE_CHART, [path, VALUES_DIR / "exercise-spec.yaml"],
                      EXERCISE_RELEASE)
    # No Job until the orchestrator renders one per request; the pods' policy is in place.
    assert not exercise.kind("Job")
    policy = exercise.named("NetworkPolicy", f"{EXERCISE_RELEASE}-reference-training")
    assert policy["spec"]["ingress"] == []
    for doc in exercise.docs:
        kubernetes_validate.validate(doc, "1.35", strict=True)


@pytest.mark.parametrize(("reference_training", "word"), [
    ({"enabled": True, "jobs": []}, "jobs"),
    ({"enabled": "yes"}, "enabled"),
])
def test_jobs_are_the_orchestrators_and_enabled_is_a_boolean(
        helm_bin: Path, tmp_path: Path, reference_training: object, word: str) -> None:
    with pytest.raises(RenderError) as err:
        _control(helm_bin, tmp_path, reference_training)
    assert "referenceTraining" in str(err.value) and word in str(err.value)
