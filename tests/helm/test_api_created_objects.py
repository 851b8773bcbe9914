"""The objects the orchestrator creates through the Kubernetes API (reference-training and
federation-run Jobs and their NetworkPolicies, ``orchestrator/kubernetes/api_objects.py``) are
in no helm release: teardown and the next orchestrator's orphan clean-up find them by their
exercise and component labels only. Every such object the real chart renders must carry both."""

from __future__ import annotations

import yaml

from leakrange.orchestrator.kubernetes.api_objects import API_COMPONENTS
from leakrange.orchestrator.kubernetes.names import COMPONENT_LABEL, EXERCISE_LABEL
from tests.helm.rendering import EXERCISE_BASE, Manifests


def test_every_api_created_object_names_its_exercise_and_component(
        exercise_renders: dict[str, Manifests]) -> None:
    exercise_id = yaml.safe_load(EXERCISE_BASE.read_text())["exercise"]["id"]
    found: dict[str, set[str]] = {c: set() for c in API_COMPONENTS}
    for case in ("reference-jobs", "federated-run"):
        for kind in ("Job", "NetworkPolicy"):
            for doc in exercise_renders[case].kind(kind):
                labels = doc["metadata"].get("labels") or {}
                if labels.get(COMPONENT_LABEL) in API_COMPONENTS:
                    assert labels.get(EXERCISE_LABEL) == exercise_id, doc["metadata"]
                    found[labels[COMPONENT_LABEL]].add(kind)
    assert found == {c: {"Job", "NetworkPolicy"} for c in API_COMPONENTS}
