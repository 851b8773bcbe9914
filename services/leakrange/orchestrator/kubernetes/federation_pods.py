"""What the federation's pods say (the Kubernetes range's ``target.federated``): every node up,
one still coming, or one gone for good, each named by what it is (``superlink``,
``supernode 1``: the StatefulSet's pod index is the client's partition id).

Pure functions over the API's JSON, on top of ``pod_watch``'s classifiers: a pod is renamed
before it is classified, so the reasons name the node (``supernode 1 terminated (exit code
137)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leakrange.orchestrator.kubernetes.names import COMPONENT_LABEL
from leakrange.orchestrator.kubernetes.pod_watch import (
    is_ready,
    is_terminating,
    pod_death,
    pod_failure,
)

Obj = Mapping[str, Any]
SUPERLINK = "superlink"
SUPERNODE = "supernode"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
INSTANCE_LABEL = "app.kubernetes.io/instance"


def node_name(pod: Obj) -> str | None:
    """``superlink``, ``supernode <index>``, or ``None`` for a pod of no federation node."""
    labels = pod.get("metadata", {}).get("labels") or {}
    component = labels.get(COMPONENT_LABEL)
    if component == SUPERLINK:
        return SUPERLINK
    if component == SUPERNODE:
        index = labels.get(POD_INDEX_LABEL)
        return f"{SUPERNODE} {index}" if index is not None else SUPERNODE
    return None


def federation_pods(pods: Iterable[Obj], release: str) -> dict[str, Obj]:
    """The release's live federation pods by node name (a terminating pod does not count)."""
    found: dict[str, Obj] = {}
    for pod in pods:
        labels = pod.get("metadata", {}).get("labels") or {}
        name = node_name(pod)
        if name is None or labels.get(INSTANCE_LABEL) != release or is_terminating(pod):
            continue
        found[name] = _renamed(pod, name)
    return found


def _renamed(pod: Obj, name: str) -> dict[str, Any]:
    """The pod with its component label set to ``name`` (what ``pod_watch`` reports)."""
    metadata = dict(pod.get("metadata", {}))
    metadata["labels"] = {**(metadata.get("labels") or {}), COMPONENT_LABEL: name}
    return {**pod, "metadata": metadata}


def expected_nodes(clients: int) -> list[str]:
    return [SUPERLINK, *(f"{SUPERNODE} {i}" for i in range(clients))]


@dataclass(frozen=True)
class FederationView:
    failure: str | None
    ready: bool
    waiting: tuple[str, ...]


def view_federation(pods: Iterable[Obj], release: str, clients: int, now: datetime,
                    unschedulable_grace_s: float = 0.0) -> FederationView:
    """While the federation comes up: the first node that never will, or who is not ready."""
    nodes = federation_pods(pods, release)
    for pod in nodes.values():
        failure = pod_failure(pod, now, unschedulable_grace_s)
        if failure is not None:
            return FederationView(failure, False, ())
    waiting = tuple(name for name in expected_nodes(clients)
                    if name not in nodes or not is_ready(nodes[name]))
    return FederationView(None, not waiting, waiting)


def federation_death(pods: Iterable[Obj], release: str, clients: int) -> str | None:
    """While the run goes on: why a node that was up is no longer (or is gone), else None."""
    nodes = federation_pods(pods, release)
    for name in expected_nodes(clients):
        pod = nodes.get(name)
        if pod is None:
            return f"the pod of {name} is gone"
        death = pod_death(pod)
        if death is not None:
            return death
    return None
