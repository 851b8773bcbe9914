"""A small NetworkPolicy evaluator: is a TCP/UDP flow between two endpoints allowed?

Implements the networking.k8s.io/v1 semantics the charts use: a pod selected by no policy of a
direction is open in that direction; once selected, only flows some rule admits pass; a flow
needs both the source's egress and the destination's ingress. Peers: podSelector (policy
namespace), namespaceSelector (+ podSelector), ipBlock (for endpoints outside the cluster).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.helm.rendering import selector_matches


@dataclass(frozen=True)
class Endpoint:
    """A pod (labels + namespace) or an address outside the cluster (ip)."""

    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""

    @property
    def is_pod(self) -> bool:
        return not self.ip

    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def _selecting(
    policies: Sequence[dict[str, Any]], pod: Endpoint, direction: str
) -> list[dict[str, Any]]:
    if not pod.is_pod:
        return []
    return [
        p for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and selector_matches(p["spec"]["podSelector"], pod.labels)
    ]


def _peer_matches(peer: dict[str, Any], policy_ns: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.is_pod:
            return False
        addr = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if addr not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(addr in ipaddress.ip_network(c) for c in block.get("except", []))
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels()):
            return False
    elif other.namespace != policy_ns:
        return False
    return selector_matches(peer.get("podSelector", {}), other.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        low = entry.get("port")
        if low is None:
            return True
        if low == port or (entry.get("endPort") and low <= port <= entry["endPort"]):
            return True
    return False


def _direction_allows(
    policies: Sequence[dict[str, Any]], pod: Endpoint, other: Endpoint,
    direction: str, port: int, protocol: str,
) -> bool:
    selecting = _selecting(policies, pod, direction)
    if not selecting:
        return True
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in selecting:
        ns = policy["metadata"]["namespace"]
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(p, ns, other) for p in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(
    policies: Sequence[dict[str, Any]], src: Endpoint, dst: Endpoint, port: int,
    protocol: str = "TCP",
) -> bool:
    """True when the policies let ``src`` open a connection to ``dst:port``."""
    return _direction_allows(policies, src, dst, "Egress", port, protocol) and _direction_allows(
        policies, dst, src, "Ingress", port, protocol
    )
