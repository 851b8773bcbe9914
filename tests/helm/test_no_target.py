"""``target.enabled: false`` (a synthetic release: the adversaries get data, nothing is served)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    VALUES_DIR,
    Manifests,
    RenderError,
    pod_spec,
    render,
)

EX = "ex-adult-mia-001"


def test_no_target_objects_and_the_adversary_is_served(
        exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["no-target"]
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"]
                  for d in manifests.docs}
    assert "target" not in components
    assert [w["metadata"]["name"] for w in manifests.workloads()] == [f"{EX}-synthetic"]
    container = pod_spec(manifests.named("Deployment", f"{EX}-synthetic"))["containers"][0]
    assert container["args"][container["args"].index("--family") + 1] == "synthetic"


def test_adversaries_get_no_egress_to_a_target_when_there_is_none(
        exercise_renders: dict[str, Manifests]) -> None:
    def egress_components(case: str) -> list[str]:
        policy = exercise_renders[case].named("NetworkPolicy", f"{EX}-adversaries")
        return [peer.get("podSelector", {}).get("matchLabels", {})
                .get("app.kubernetes.io/component", "") for rule in policy["spec"]["egress"]
                for peer in rule.get("to", [])]
    assert "target" in egress_components("minimal")
    assert "target" not in egress_components("no-target")


def test_enabled_target_still_needs_a_model(helm_bin: Path, tmp_path: Path) -> None:
    values = tmp_path / "enabled-no-model.yaml"
    values.write_text("target:\n  enabled: true\n  model: \"\"\n")
    with pytest.raises(RenderError, match=r"target\.model is required"):
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, values], EXERCISE_RELEASE)
    render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, VALUES_DIR / "exercise-no-target.yaml"],
           EXERCISE_RELEASE)
