"""Pod placement (GPUs per family) flows from the control-plane values to exercise pods.

control chart values -> its ConfigMap's exercise-pods.yaml -> the orchestrator's placement
config -> the Kubernetes backend's release values -> the real exercise chart.
"""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.kubernetes.placement_config import (
    load_exercise_pods,
    parse_exercise_pods,
)
from leakrange.orchestrator.kubernetes.values import render_values
from tests.helm.rendering import CONTROL_BASE, pod_spec, render

ROOT = Path(__file__).resolve().parents[2]
GPU_POOL = {
    "adversaries": {
        "default": {"gpu": 0},
        "mia": {"gpu": 2, "runtimeClassName": "nvidia",
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                 "effect": "NoSchedule"}]},
    },
}


def test_gpu_placement_reaches_the_exercise_pods(helm_bin, tmp_path):
    control_values = tmp_path / "control.yaml"
    control_values.write_text(yaml.safe_dump({"orchestrator": {"exercise": {"pods": GPU_POOL}}}))
    control = render(helm_bin, ROOT / "helm/leakrange", [CONTROL_BASE, control_values], "range")
    config = next(c for c in control.kind("ConfigMap") if "exercise-pods.yaml" in c["data"])
    pods_file = tmp_path / "exercise-pods.yaml"
    pods_file.write_text(config["data"]["exercise-pods.yaml"])
    defaults = tmp_path / "exercise-values.yaml"
    defaults.write_text(config["data"]["exercise-values.yaml"])
    deployment = control.kind("Deployment")[0]
    env = {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0]["env"]}
    assert env["LEAKRANGE_EXERCISE_PODS"] == "/etc/leakrange/exercise-pods.yaml"

    pods = load_exercise_pods(pods_file)
    values = render_values(
        "ex1", TargetDeploySpec("sha256:" + "a" * 64, Access()), ["mia", "synthetic"],
        "ex-ex1-tokens", adversary_pods=pods.adversaries,
        default_adversary_pod=pods.default_adversary, target_pod=pods.target,
    )
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    exercise = render(helm_bin, ROOT / "helm/leakrange-exercise", [defaults, values_file], "ex-ex1")
    for doc in exercise.docs:
        kubernetes_validate.validate(doc, "1.35", strict=True)
    mia = exercise.named("Deployment", "ex-ex1-mia")
    spec = pod_spec(mia)
    limits = spec["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 2
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    synthetic = pod_spec(exercise.named("Deployment", "ex-ex1-synthetic"))
    assert "nvidia.com/gpu" not in synthetic["containers"][0]["resources"]["limits"]


@pytest.mark.parametrize(("doc", "field"), [
    ({"adversaries": {"mia": {"gpu": -1}}}, "exercise_pods.adversaries.mia.gpu"),
    ({"adversaries": {"mia": {"gpu": 1.5}}}, "exercise_pods.adversaries.mia.gpu"),
    ({"adversaries": {"gan": {"gpu": 1}}}, "exercise_pods.adversaries.gan"),
    ({"adversaries": {"mia": {"gpus": 1}}}, "exercise_pods.adversaries.mia.gpus"),
    ({"target": {"image": "x"}}, "exercise_pods.target.image"),
])
def test_bad_placement_names_the_field(doc, field):
    with pytest.raises(InvalidArgument) as err:
        parse_exercise_pods(doc)
    assert str(err.value).startswith(field)


def test_wrong_gpu_type_fails_the_control_chart(helm_bin, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(
        {"orchestrator": {"exercise": {"pods": {"adversaries": {"mia": {"gpu": "two"}}}}}}))
    from tests.helm.rendering import RenderError

    with pytest.raises(RenderError) as err:
        render(helm_bin, ROOT / "helm/leakrange", [bad], "range")
    assert "gpu" in str(err.value)
