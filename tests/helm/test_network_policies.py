"""The threat model on the network: who may open a connection to whom, evaluated on the policies
that both charts render together (control plane defaults + an exercise installed from them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.cases import ALL_IDS
from tests.helm.netpol import Endpoint, allowed
from tests.helm.rendering import NAMESPACE, Manifests, pod_labels, selector_matches

EX = "ex-adult-mia-001"
DNS = Endpoint("kube-system", {"k8s-app": "kube-dns"})
INTERNET = Endpoint(ip="8.8.8.8")
API_SERVER = Endpoint(ip="10.96.0.1")


def _pod(manifests: Manifests, kind: str, name: str) -> Endpoint:
    return Endpoint(NAMESPACE, dict(pod_labels(manifests.named(kind, name))))


@pytest.fixture(scope="module")
def cluster(
    control_renders: dict[str, Manifests], exercise_renders: dict[str, Manifests]
) -> dict[str, Any]:
    control, exercise = control_renders["defaults"], exercise_renders["from-control-plane"]
    target = _pod(exercise, "Deployment", f"{EX}-target")
    other_target = Endpoint(NAMESPACE, {
        **target.labels, "app.kubernetes.io/instance": "ex-other", "leakrange.io/exercise": "other",
    })
    return {
        "policies": [*control.kind("NetworkPolicy"), *exercise.kind("NetworkPolicy")],
        "orchestrator": _pod(control, "Deployment", "range-leakrange-orchestrator"),
        "minio": _pod(control, "StatefulSet", "range-leakrange-minio"),
        "target": target,
        "mia": _pod(exercise, "Deployment", f"{EX}-mia"),
        "synthetic": _pod(exercise, "Deployment", f"{EX}-synthetic"),
        "other_target": other_target,
        "stranger": Endpoint(NAMESPACE, {"app": "something-else"}),
        "client": Endpoint(NAMESPACE, {"leakrange.io/client": "true"}),
        "far_client": Endpoint("elsewhere", {"leakrange.io/client": "true"}),
        "prometheus": Endpoint("monitoring", {"app": "prometheus"}),
        "dns": DNS,
        "internet": INTERNET,
        "api_server": API_SERVER,
    }


ALLOWED = [
    ("mia", "target", 50051, "TCP"),
    ("synthetic", "target", 50051, "TCP"),
    ("mia", "minio", 9000, "TCP"),
    ("mia", "dns", 53, "UDP"),
    ("mia", "dns", 53, "TCP"),
    ("orchestrator", "mia", 50051, "TCP"),
    ("orchestrator", "target", 50051, "TCP"),
    ("orchestrator", "minio", 9000, "TCP"),
    ("orchestrator", "api_server", 443, "TCP"),
    ("target", "minio", 9000, "TCP"),
    ("target", "dns", 53, "UDP"),
    ("client", "orchestrator", 50051, "TCP"),
    ("prometheus", "orchestrator", 9090, "TCP"),
]
DENIED = [
    ("mia", "target", 9090, "TCP"),  # only the gRPC port of the target
    ("mia", "orchestrator", 50051, "TCP"),
    ("mia", "synthetic", 50051, "TCP"),  # adversaries cannot talk to each other
    ("mia", "other_target", 50051, "TCP"),  # nor to another exercise's target
    ("mia", "internet", 443, "TCP"),
    ("mia", "api_server", 443, "TCP"),
    ("target", "mia", 50051, "TCP"),
    ("target", "internet", 443, "TCP"),
    ("target", "orchestrator", 50051, "TCP"),
    ("stranger", "target", 50051, "TCP"),
    ("stranger", "mia", 50051, "TCP"),
    ("stranger", "minio", 9000, "TCP"),
    ("stranger", "orchestrator", 50051, "TCP"),
    ("far_client", "orchestrator", 50051, "TCP"),
    ("prometheus", "orchestrator", 50051, "TCP"),
    ("minio", "internet", 443, "TCP"),
    ("minio", "target", 50051, "TCP"),
]


@pytest.mark.parametrize(("src", "dst", "port", "proto"), ALLOWED)
def test_flow_allowed(cluster: dict[str, Any], src: str, dst: str, port: int, proto: str) -> None:
    assert allowed(cluster["policies"], cluster[src], cluster[dst], port, proto)


@pytest.mark.parametrize(("src", "dst", "port", "proto"), DENIED)
def test_flow_denied(cluster: dict[str, Any], src: str, dst: str, port: int, proto: str) -> None:
    assert not allowed(cluster["policies"], cluster[src], cluster[dst], port, proto)


def _ports(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for p in rule["ports"]}


def test_adversary_egress_is_target_grpc_store_and_dns_only(
    exercise_renders: dict[str, Manifests],
) -> None:
    policy = exercise_renders["minimal"].named("NetworkPolicy", f"{EX}-adversaries")
    egress = policy["spec"]["egress"]
    assert [_ports(r) for r in egress] == [
        {("TCP", 50051)}, {("TCP", 9000)}, {("UDP", 53), ("TCP", 53)},
    ]
    assert all(r.get("to") for r in egress)  # no rule open to every destination
    assert egress[0]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
        "target"
    )
    ingress = policy["spec"]["ingress"]
    assert len(ingress) == 1 and _ports(ingress[0]) == {("TCP", 50051)}
    assert ingress[0]["from"][0]["podSelector"]["matchLabels"][
        "app.kubernetes.io/component"] == "orchestrator"


def test_target_ingress_is_adversaries_and_orchestrator_only(
    exercise_renders: dict[str, Manifests],
) -> None:
    policy = exercise_renders["minimal"].named("NetworkPolicy", f"{EX}-target")
    (rule,) = policy["spec"]["ingress"]
    components = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                  for p in rule["from"]]
    assert components == ["adversary", "orchestrator"]
    assert _ports(rule) == {("TCP", 50051)}
    assert [_ports(r) for r in policy["spec"]["egress"]] == [
        {("TCP", 9000)}, {("UDP", 53), ("TCP", 53)},
    ]


def test_external_store_and_remote_orchestrator(exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["external-store"]
    policies = manifests.kind("NetworkPolicy")
    mia = _pod(manifests, "Deployment", f"{EX}-mia")
    target = _pod(manifests, "Deployment", f"{EX}-target")
    s3 = Endpoint(ip="52.95.12.7")
    assert allowed(policies, mia, s3, 443)
    assert not allowed(policies, mia, s3, 9000)
    assert not allowed(policies, mia, INTERNET, 443)
    orchestrator_labels = {"app.kubernetes.io/name": "leakrange",
                           "app.kubernetes.io/component": "orchestrator"}
    remote = Endpoint("leakrange-system", orchestrator_labels)
    local_lookalike = Endpoint(NAMESPACE, orchestrator_labels)
    assert allowed(policies, remote, target, 50051)
    assert not allowed(policies, local_lookalike, target, 50051)


def test_metrics_namespace_opens_only_the_metrics_port(
    exercise_renders: dict[str, Manifests],
) -> None:
    manifests = exercise_renders["families"]
    policies = manifests.kind("NetworkPolicy")
    prometheus = Endpoint("monitoring", {"app": "prometheus"})
    target = _pod(manifests, "Deployment", f"{EX}-target")
    assert allowed(policies, prometheus, target, 9090)
    assert not allowed(policies, prometheus, target, 50051)
    assert not allowed(policies, prometheus, _pod(manifests, "Deployment", f"{EX}-mia"), 50051)


@pytest.mark.parametrize("case", ALL_IDS)
def test_policies_are_default_deny_both_ways(
    all_renders: dict[str, Manifests], case: str
) -> None:
    manifests = all_renders[case]
    policies = manifests.kind("NetworkPolicy")
    if case.endswith("no-networkpolicy"):
        assert policies == []
        return
    for policy in policies:
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    deny_all = [p for p in policies if "ingress" not in p["spec"] and "egress" not in p["spec"]]
    assert len(deny_all) == 1
    selector = deny_all[0]["spec"]["podSelector"]
    for workload in manifests.workloads():
        assert selector_matches(selector, pod_labels(workload)), workload["metadata"]["name"]
