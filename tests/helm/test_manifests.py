"""helm lint --strict, and every rendered manifest validated against the Kubernetes 1.35 schemas."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from tests.helm.cases import ALL_IDS, EXERCISE_IDS
from tests.helm.rendering import (
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_BASE,
    EXERCISE_CHART,
    Manifests,
    pod_labels,
    render,
)

KUBERNETES_VERSION = "1.35"
# Custom resources have no schema in kubernetes-validate: only these are skipped (the
# ServiceMonitor of prometheus-operator). Any other kind without a schema fails the test.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
STANDARD_LABELS = (
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
    "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
)


@pytest.mark.parametrize(
    ("chart", "values"),
    [(CONTROL_CHART, []), (EXERCISE_CHART, [EXERCISE_BASE])],
    ids=["control", "exercise"],
)
def test_helm_lint_strict(helm_bin: Path, chart: Path, values: list[Path]) -> None:
    cmd = [str(helm_bin), "lint", "--strict", str(chart)]
    for path in values:
        cmd += ["--values", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("case", ALL_IDS)
def test_every_manifest_is_valid_kubernetes_1_35(
    all_renders: dict[str, Manifests], case: str
) -> None:
    docs = all_renders[case].docs
    skipped = [d for d in docs if (d["apiVersion"], d["kind"]) in CRD_KINDS]
    for doc in docs:
        if doc not in skipped:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert len(docs) - len(skipped) >= 4
    assert len(skipped) == (1 if case == "control/servicemonitor" else 0)


@pytest.mark.parametrize("case", ALL_IDS)
def test_every_object_has_the_standard_labels(
    all_renders: dict[str, Manifests], case: str
) -> None:
    for doc in all_renders[case].docs:
        labels = doc["metadata"]["labels"]
        missing = [key for key in STANDARD_LABELS if key not in labels]
        assert not missing, (doc["kind"], doc["metadata"]["name"], missing)
        assert labels["app.kubernetes.io/part-of"] == "leakrange"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"


@pytest.mark.parametrize("case", EXERCISE_IDS)
def test_every_exercise_object_carries_the_exercise_id(
    all_renders: dict[str, Manifests], case: str
) -> None:
    manifests = all_renders[case]
    for doc in manifests.docs:
        assert doc["metadata"]["labels"]["leakrange.io/exercise"] == "adult-mia-001"
        assert doc["metadata"]["name"].startswith("ex-adult-mia-001-")
    for workload in manifests.workloads():
        assert pod_labels(workload)["leakrange.io/exercise"] == "adult-mia-001"


@pytest.mark.parametrize("case", ALL_IDS)
def test_selectors_use_name_instance_component_and_match_their_pods(
    all_renders: dict[str, Manifests], case: str
) -> None:
    manifests = all_renders[case]
    for workload in manifests.workloads():
        selector = workload["spec"]["selector"]["matchLabels"]
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                "app.kubernetes.io/component"} <= set(selector)
        assert "app.kubernetes.io/version" not in selector
        labels = pod_labels(workload)
        assert all(labels[k] == v for k, v in selector.items())
    pods = [pod_labels(w) for w in manifests.workloads()]
    for service in manifests.kind("Service"):
        chosen = service["spec"]["selector"]
        matching = [p for p in pods if all(p.get(k) == v for k, v in chosen.items())]
        assert len(matching) == 1, service["metadata"]["name"]


def test_service_monitor_needs_both_flags(
    helm_bin: Path, control_renders: dict[str, Manifests]
) -> None:
    assert control_renders["defaults"].kind("ServiceMonitor") == []
    monitors = control_renders["servicemonitor"].kind("ServiceMonitor")
    assert len(monitors) == 1
    assert monitors[0]["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s"}
    ]
    assert monitors[0]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    off = render(helm_bin, CONTROL_CHART, [], CONTROL_RELEASE, [
        "--set", "metrics.enabled=false", "--set", "metrics.serviceMonitor.enabled=true",
    ])
    assert off.kind("ServiceMonitor") == []


def test_store_choice_shapes_the_orchestrator(control_renders: dict[str, Manifests]) -> None:
    name = "range-leakrange-orchestrator"

    def env(case: str) -> dict[str, object]:
        deployment = control_renders[case].named("Deployment", name)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}

    minio = env("defaults")
    assert minio["LEAKRANGE_STORE"] == (
        "s3://leakrange?endpoint=range-leakrange-minio.range.svc:9000&secure=false"
    )
    assert minio["LEAKRANGE_S3_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "range-leakrange-minio", "key": "root-user"}
    }
    assert minio["LEAKRANGE_TOKEN"] == {
        "secretKeyRef": {"name": "range-leakrange-api-token", "key": "token"}
    }
    external = env("external-s3")
    assert external["LEAKRANGE_STORE"] == (
        "s3://leakrange-artifacts?endpoint=s3.eu-north-1.amazonaws.com:443&secure=true"
        "&region=eu-north-1"
    )
    assert external["LEAKRANGE_S3_SECRET_KEY"] == {
        "secretKeyRef": {"name": "range-s3", "key": "secret-key"}
    }
    assert external["LEAKRANGE_TOKEN"] == {
        "secretKeyRef": {"name": "range-api-token", "key": "token"}
    }
    ext = control_renders["external-s3"]
    assert ext.kind("StatefulSet") == [] and ext.kind("Secret") == []
    assert ext.kind("PersistentVolumeClaim") == []  # existingClaim is used instead
    assert {d["kind"] for d in control_renders["defaults"].docs} >= {
        "StatefulSet", "Secret", "PersistentVolumeClaim", "Role", "RoleBinding", "ServiceAccount",
    }


def test_orchestrator_command_line(control_renders: dict[str, Manifests]) -> None:
    deployment = control_renders["defaults"].named("Deployment", "range-leakrange-orchestrator")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "leakrange/range:0.1.0"
    assert [*container["command"], *container["args"]] == [
        "leakrange", "serve", "orchestrator", "--host", "0.0.0.0", "--port", "50051",
        "--metrics-port", "9090", "--backend", "kubernetes", "--namespace", "range",
        "--exercise-chart", "/opt/leakrange/charts/leakrange-exercise", "--data-dir", "/data",
    ]


def test_checksum_annotation_follows_the_config(helm_bin: Path) -> None:
    def checksum(extra: list[str]) -> str:
        manifests = render(helm_bin, CONTROL_CHART, [], CONTROL_RELEASE,
                           ["--set", "auth.token=fixed-token", *extra])
        deployment = manifests.named("Deployment", "range-leakrange-orchestrator")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    base = checksum([])
    assert len(base) == 64
    assert checksum([]) == base
    assert checksum(["--set", "networkPolicy.dns.namespace=dns-system"]) != base


def test_exercise_command_lines(exercise_renders: dict[str, Manifests]) -> None:
    families = exercise_renders["families"]
    target = families.named("Deployment", "ex-adult-mia-001-target")
    args = target["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["serve", "target", "--host"]
    assert args[args.index("--output") + 1] == "topk:3"
    assert args[args.index("--rounding") + 1] == "2"
    assert args[args.index("--query-budget") + 1] == "20000"
    assert "--white-box" in args
    minimal = exercise_renders["minimal"].named("Deployment", "ex-adult-mia-001-target")
    minimal_args = minimal["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--white-box" not in minimal_args and "--rounding" not in minimal_args
    images = {}
    for family in ("mia", "inversion", "federated", "synthetic"):
        deployment = families.named("Deployment", f"ex-adult-mia-001-{family}")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:4] == ["serve", "attack", "--family", family]
        images[family] = container["image"]
    assert images["mia"] == "leakrange/attack-mia:0.1.0"
    assert images["inversion"] == "registry.example.org/leakrange/attack-inversion:custom"
