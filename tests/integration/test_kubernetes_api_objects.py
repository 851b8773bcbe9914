"""The Jobs and NetworkPolicies the orchestrator creates through the API (reference training,
the federation's run) are in no helm release, so ``helm uninstall`` leaves them: teardown removes
those of its exercise, and a new orchestrator's ``cleanup_orphans`` those of every exercise it
does not run (a predecessor was killed mid-run). Objects of other exercises and of nobody stay.

kmock emulates the API server (no real one can run here; it evaluates no label selectors, so
the backend's own label check is what keeps other objects safe); helm is the real binary behind
the chart recorder of ``test_kubernetes_backend``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client

from leakrange.orchestrator.kubernetes import ExerciseCluster, KubernetesBackend
from leakrange.orchestrator.kubernetes.api_objects import delete_orphan_objects
from tests.fixtures.kmock_server import (  # noqa: F401 - kube_emulator_with_jobs: fixture
    EXERCISE_CHART,
    ChartRecorder,
    KubeEmulator,
    kube_emulator_with_jobs,
)
from tests.integration.test_kubernetes_backend import (  # noqa: F401 - fixtures
    control_defaults,
    core,
    helm_binary,
    namespace,
    recorder,
)

TORN_DOWN, ORPHAN, OTHER = "ex-0123456789ab", "ex-ba9876543210", "ex-00000000cafe"


def _labels(exercise: str | None, component: str) -> dict[str, str]:
    labels = {"app.kubernetes.io/component": component}
    return labels if exercise is None else {**labels, "leakrange.io/exercise": exercise}


def _job(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": labels},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "leakrange/attack-mia"}]}}}}


def _policy(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Egress"]}}


def test_teardown_and_orphan_clean_up_remove_the_api_created_objects_only(
    kube_emulator: KubeEmulator, namespace: str, recorder: ChartRecorder,  # noqa: F811
    control_defaults: Path,  # noqa: F811
) -> None:
    api = kube_emulator.api_client()
    batch, net = client.BatchV1Api(api), client.NetworkingV1Api(api)
    for name, exercise, component in (
            (f"ex-{TORN_DOWN}-reference-training", TORN_DOWN, "reference-training"),
            (f"ex-{TORN_DOWN}-federation-run", TORN_DOWN, "federation-run"),
            (f"ex-{ORPHAN}-reference-training", ORPHAN, "reference-training"),
            (f"ex-{ORPHAN}-federation-run", ORPHAN, "federation-run"),
            (f"ex-{OTHER}-reference-training", OTHER, "reference-training"),
            (f"ex-{ORPHAN}-target", ORPHAN, "target"),         # the release's own: helm's
            ("someone-elses-policy", None, "reference-training")):  # no exercise label
        net.create_namespaced_network_policy(namespace, _policy(name, _labels(exercise,
                                                                              component)))
    for name, exercise, component in (
            (f"ex-{TORN_DOWN}-fedrun-r0", TORN_DOWN, "federation-run"),
            (f"ex-{ORPHAN}-refs-t0-aaaa", ORPHAN, "reference-training"),
            (f"ex-{OTHER}-refs-t1-bbbb", OTHER, "reference-training"),
            ("someone-elses-job", None, "batch")):
        batch.create_namespaced_job(namespace, _job(name, _labels(exercise, component)))
    kube = KubernetesBackend(ExerciseCluster(api, namespace), recorder, EXERCISE_CHART,
                             defaults_values=control_defaults)

    def left() -> tuple[list[str], list[str]]:
        return (sorted(p.metadata.name for p in net.list_namespaced_network_policy(
                    namespace).items),
                sorted(j.metadata.name for j in batch.list_namespaced_job(namespace).items))

    kube.teardown(TORN_DOWN)
    policies, jobs = left()
    assert not [n for n in [*policies, *jobs] if TORN_DOWN in n]
    assert len(policies) == 5 and len(jobs) == 3

    # What an orchestrator that still runs OTHER removes: ORPHAN's objects.
    assert delete_orphan_objects(api, namespace, keep={OTHER}) == {ORPHAN}
    assert left() == (
        sorted([f"ex-{OTHER}-reference-training", f"ex-{ORPHAN}-target",
                "someone-elses-policy"]),
        sorted([f"ex-{OTHER}-refs-t1-bbbb", "someone-elses-job"]))
    # A new backend runs nothing yet: OTHER's go too, helm's and nobody's objects stay.
    assert kube.cleanup_orphans() == [OTHER]
    assert left() == (sorted([f"ex-{ORPHAN}-target", "someone-elses-policy"]),
                      ["someone-elses-job"])
