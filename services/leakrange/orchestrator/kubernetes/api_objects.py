"""The objects the orchestrator creates through the Kubernetes API rather than through helm.

Reference-training Jobs (``reference_jobs.py``) and the federation's run Job
(``federation_run.py``) are rendered from the exercise chart with ``helm template`` but created
through the API, each with its NetworkPolicy, so no helm release holds them and ``helm
uninstall`` leaves them behind. Each carries its exercise (``leakrange.io/exercise``) and its
component (``app.kubernetes.io/component``) as labels, and this module deletes them by those
labels: for one exercise when it is torn down, and for every exercise the orchestrator no longer
runs when it starts after a predecessor was killed. A Job goes with its pods; an object already
gone is fine. Other objects of the namespace are never touched: every listed object's labels
are checked again here, whatever the API server did with the label selector.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from kubernetes import client

from leakrange.orchestrator.kubernetes.api_call import api_call
from leakrange.orchestrator.kubernetes.federation_run import RUN_COMPONENT
from leakrange.orchestrator.kubernetes.names import COMPONENT_LABEL, EXERCISE_LABEL
from leakrange.orchestrator.kubernetes.reference_jobs import (
    COMPONENT as REFERENCE_COMPONENT,
)
from leakrange.orchestrator.kubernetes.reference_jobs import delete_job

API_COMPONENTS = (REFERENCE_COMPONENT, RUN_COMPONENT)


def _labelled(items: list[Any], component: str, wanted: Callable[[str], bool]
              ) -> list[tuple[str, str]]:
    """(name, exercise) of the items whose labels name ``component`` and a wanted exercise."""
    out = []
    for item in items:
        meta = item.metadata
        labels = (meta.labels if meta is not None else None) or {}
        exercise = labels.get(EXERCISE_LABEL)
        if meta is not None and meta.name and exercise and wanted(exercise) \
                and labels.get(COMPONENT_LABEL) == component:
            out.append((str(meta.name), str(exercise)))
    return out


def delete_api_objects(api_client: client.ApiClient, namespace: str,
                       wanted: Callable[[str], bool]) -> set[str]:
    """Delete the API-created Jobs and NetworkPolicies of every exercise ``wanted(id)`` picks;
    returns the exercises that had any. A namespace whose API serves no Jobs or no
    NetworkPolicies has none of them (404)."""
    batch = client.BatchV1Api(api_client)
    net = client.NetworkingV1Api(api_client)

    def delete_policy(name: str) -> None:
        api_call("delete network policy", net.delete_namespaced_network_policy, name,
                 namespace, ok_statuses=(404,))

    kinds: tuple[tuple[str, Callable[..., Any], Callable[[str], None]], ...] = (
        ("jobs", batch.list_namespaced_job, lambda name: delete_job(batch, name, namespace)),
        ("network policies", net.list_namespaced_network_policy, delete_policy),
    )
    found: set[str] = set()
    for what, list_fn, delete in kinds:
        for component in API_COMPONENTS:
            listing = api_call(f"list {what}", list_fn, namespace, ok_statuses=(404,),
                               label_selector=f"{COMPONENT_LABEL}={component}")
            for name, exercise in _labelled(listing.items if listing is not None else [],
                                            component, wanted):
                delete(name)
                found.add(exercise)
    return found


def delete_exercise_objects(api_client: client.ApiClient, namespace: str,
                            exercise_id: str) -> None:
    """Delete one exercise's API-created objects."""
    delete_api_objects(api_client, namespace, lambda e: e == exercise_id)


def delete_orphan_objects(api_client: client.ApiClient, namespace: str,
                          keep: Collection[str]) -> set[str]:
    """Delete the API-created objects of every exercise not in ``keep`` (those a killed
    orchestrator was running); returns their exercise ids."""
    return delete_api_objects(api_client, namespace, lambda e: e not in keep)
