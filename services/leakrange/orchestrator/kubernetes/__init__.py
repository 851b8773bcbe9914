"""The Kubernetes range: each exercise as a Helm release of ``helm/leakrange-exercise``."""

from leakrange.orchestrator.kubernetes.cluster import ExerciseCluster, load_api_client
from leakrange.orchestrator.kubernetes.helm_runner import (
    HelmCall,
    HelmClient,
    HelmProcess,
    HelmResult,
    HelmRunner,
)
from leakrange.orchestrator.kubernetes.k8s_range import KubernetesBackend
from leakrange.orchestrator.kubernetes.values import PodPlacement, render_values

__all__ = [
    "ExerciseCluster",
    "HelmCall",
    "HelmClient",
    "HelmProcess",
    "HelmResult",
    "HelmRunner",
    "KubernetesBackend",
    "PodPlacement",
    "load_api_client",
    "render_values",
]
