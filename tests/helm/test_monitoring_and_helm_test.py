"""The exercise PodMonitor (metrics.podMonitor) and the control plane's `helm test` hook, on the
rendered manifests (the health probe the hook runs is tested for real in
tests/integration/test_health_probe.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    Manifests,
    pod_labels,
    pod_spec,
    render,
    selector_matches,
)

MONITORED = "servicemonitor"  # the control case with metrics.podMonitor.enabled


def _podmonitor(control_renders: dict[str, Manifests]) -> dict[str, Any]:
    (monitor,) = control_renders[MONITORED].kind("PodMonitor")
    return monitor


def _exercise_with_control_defaults(helm_bin: Path, control: Manifests,
                                    tmp_path: Path) -> Manifests:
    config = control.named("ConfigMap", "range-leakrange-orchestrator")
    defaults = tmp_path / "exercise-values.yaml"
    defaults.write_text(config["data"]["exercise-values.yaml"])
    return render(helm_bin, EXERCISE_CHART, [defaults, EXERCISE_BASE], EXERCISE_RELEASE)


def test_podmonitor_is_off_by_default(control_renders: dict[str, Manifests]) -> None:
    assert control_renders["defaults"].kind("PodMonitor") == []


def test_podmonitor_scrapes_every_exercise_pod_and_nothing_else(
    helm_bin: Path, control_renders: dict[str, Manifests], tmp_path: Path,
) -> None:
    monitor = _podmonitor(control_renders)
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["range"]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint == {"port": "metrics", "path": "/metrics", "interval": "20s"}
    exercise = _exercise_with_control_defaults(helm_bin, control_renders[MONITORED], tmp_path)
    workloads = list(exercise.workloads())
    assert {pod_labels(w)["app.kubernetes.io/component"] for w in workloads} == {
        "target", "adversary"}
    for workload in workloads:
        assert selector_matches(monitor["spec"]["selector"], pod_labels(workload))
        ports = {p["name"] for c in pod_spec(workload)["containers"] for p in c["ports"]}
        assert endpoint["port"] in ports
    for workload in control_renders[MONITORED].workloads():  # orchestrator, MinIO, the hook Job
        assert not selector_matches(monitor["spec"]["selector"], pod_labels(workload))


def test_exercise_network_policies_admit_the_monitoring_namespace_on_the_metrics_port(
    helm_bin: Path, control_renders: dict[str, Manifests], tmp_path: Path,
) -> None:
    def metrics_sources(manifests: Manifests) -> list[str]:
        found = []
        for policy in manifests.kind("NetworkPolicy"):
            for rule in policy["spec"].get("ingress") or []:
                if {p["port"] for p in rule["ports"]} == {9090}:
                    found += [peer["namespaceSelector"]["matchLabels"][
                        "kubernetes.io/metadata.name"] for peer in rule["from"]]
        return found

    monitored = _exercise_with_control_defaults(helm_bin, control_renders[MONITORED], tmp_path)
    assert metrics_sources(monitored) == ["monitoring", "monitoring"]  # target and mia
    plain = _exercise_with_control_defaults(helm_bin, control_renders["defaults"], tmp_path)
    assert metrics_sources(plain) == []


def _hook(manifests: Manifests, kind: str) -> dict[str, Any]:
    (obj,) = [d for d in manifests.kind(kind)
              if (d["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]
    return obj


def test_helm_test_pod_checks_the_orchestrator_health_through_its_service(
    control_renders: dict[str, Manifests],
) -> None:
    manifests = control_renders["defaults"]
    pod = _hook(manifests, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == (
        "before-hook-creation,hook-succeeded")
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-m", "leakrange.common.health_probe"]
    assert importlib.util.find_spec("leakrange.common.health_probe") is not None
    service = manifests.named("Service", "range-leakrange-orchestrator")
    grpc_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert container["args"][0] == f"range-leakrange-orchestrator.range.svc:{grpc_port}"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"] and container["resources"]["requests"]
    # The NetworkPolicies let it through: the orchestrator admits it, and its own policy (the
    # release's default deny selects it) allows egress to the orchestrator's gRPC port.
    labels = pod["metadata"]["labels"]
    orchestrator_policy = manifests.named("NetworkPolicy", "range-leakrange-orchestrator")
    api_rule = orchestrator_policy["spec"]["ingress"][0]
    assert any(selector_matches(peer["podSelector"], labels) for peer in api_rule["from"]
               if "namespaceSelector" not in peer)
    policy = _hook(manifests, "NetworkPolicy")
    assert selector_matches(policy["spec"]["podSelector"], labels)
    assert policy["metadata"]["annotations"]["helm.sh/hook-weight"] == "-1"
    to_orchestrator = [r for r in policy["spec"]["egress"]
                       if {p["port"] for p in r["ports"]} == {grpc_port}]
    assert to_orchestrator and selector_matches(
        to_orchestrator[0]["to"][0]["podSelector"],
        pod_labels(manifests.named("Deployment", "range-leakrange-orchestrator")))


def test_helm_test_pod_speaks_tls_when_the_range_does(
    control_renders: dict[str, Manifests],
) -> None:
    pod = _hook(control_renders["tls"], "Pod")
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["LEAKRANGE_CLIENT_TLS_CA"] == "/etc/leakrange-tls/ca.crt"
    assert env["LEAKRANGE_CLIENT_TLS_CERT"] == "/etc/leakrange-tls/tls.crt"  # apiClientAuth
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "range-orchestrator-tls"
