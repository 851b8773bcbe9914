"""Pod-level rules on every rendered workload: hardening, resources, probes, GPUs, scratch space."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.cases import ALL_IDS, EXERCISE_IDS
from tests.helm.rendering import Manifests, pod_labels, pod_spec

GRPC_COMPONENTS = {"orchestrator", "target", "adversary"}


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("case", ALL_IDS)
def test_every_container_is_hardened(all_renders: dict[str, Manifests], case: str) -> None:
    workloads = list(all_renders[case].workloads())
    assert workloads
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in _containers(spec):
            ctx = container["securityContext"]
            where = (workload["metadata"]["name"], container["name"])
            assert ctx["runAsNonRoot"] is True, where
            assert ctx["runAsUser"] == 10001, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, where


@pytest.mark.parametrize("case", ALL_IDS)
def test_every_container_has_requests_and_limits(
    all_renders: dict[str, Manifests], case: str
) -> None:
    for workload in all_renders[case].workloads():
        for container in _containers(pod_spec(workload)):
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), (container["name"], kind)


@pytest.mark.parametrize("case", ALL_IDS)
def test_tmp_is_an_emptydir_and_only_the_orchestrator_gets_an_api_token(
    all_renders: dict[str, Manifests], case: str
) -> None:
    for workload in all_renders[case].workloads():
        spec = pod_spec(workload)
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
        component = pod_labels(workload)["app.kubernetes.io/component"]
        assert spec["automountServiceAccountToken"] is (component == "orchestrator")


# The federation's run: Flower's pods and the run Job only, no range gRPC service yet.
NO_GRPC_SERVICE = "exercise/federated-run"


@pytest.mark.parametrize("case", ALL_IDS)
def test_grpc_services_use_native_grpc_probes(
    all_renders: dict[str, Manifests], case: str
) -> None:
    checked = 0
    for workload in all_renders[case].workloads():
        if pod_labels(workload)["app.kubernetes.io/component"] not in GRPC_COMPONENTS:
            continue
        for container in pod_spec(workload)["containers"]:
            grpc_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
            args = container["args"]
            # Under TLS the probes go to the plaintext health-only port (kubelet cannot do TLS).
            if "--health-port" in args:
                grpc_port = int(args[args.index("--health-port") + 1])
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert container[probe]["grpc"] == {"port": grpc_port}, probe
            checked += 1
    assert checked >= 1 or case == NO_GRPC_SERVICE


@pytest.mark.parametrize("case", ALL_IDS)
def test_grpc_services_drain_with_a_pre_stop_hook_and_a_drain_delay(
    all_renders: dict[str, Manifests], case: str
) -> None:
    """preStop sleeps first (the pod leaves the Endpoints), then SIGTERM: NOT_SERVING while the
    server keeps answering for LEAKRANGE_DRAIN_DELAY, all within the termination grace period."""
    checked = 0
    for workload in all_renders[case].workloads():
        if pod_labels(workload)["app.kubernetes.io/component"] not in GRPC_COMPONENTS:
            continue
        spec = pod_spec(workload)
        for container in spec["containers"]:
            where = (workload["metadata"]["name"], container["name"])
            sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            env = {e["name"]: e.get("value") for e in container["env"]}
            delay = float(env["LEAKRANGE_DRAIN_DELAY"])
            assert sleep > 0 and delay > 0, where
            assert sleep + delay < spec.get("terminationGracePeriodSeconds", 30), where
            checked += 1
    assert checked >= 1 or case == NO_GRPC_SERVICE


@pytest.mark.parametrize("case", EXERCISE_IDS)
def test_exercise_pods_get_a_memory_backed_dev_shm(
    all_renders: dict[str, Manifests], case: str
) -> None:
    for workload in all_renders[case].workloads():
        spec = pod_spec(workload)
        shm = next(v for v in spec["volumes"] if v["name"] == "shm")
        assert shm["emptyDir"]["medium"] == "Memory"
        mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert "/dev/shm" in mounts


def _gpu_counts(manifests: Manifests) -> dict[str, tuple[object, object]]:
    out = {}
    for workload in manifests.workloads():
        res = pod_spec(workload)["containers"][0]["resources"]
        out[workload["metadata"]["name"]] = (
            res["requests"].get("nvidia.com/gpu"), res["limits"].get("nvidia.com/gpu"),
        )
    return out


def test_gpus_appear_in_requests_and_limits_only_when_asked(
    exercise_renders: dict[str, Manifests],
) -> None:
    assert _gpu_counts(exercise_renders["gpus"]) == {
        "ex-adult-mia-001-target": (1, 1),
        "ex-adult-mia-001-mia": (2, 2),
        "ex-adult-mia-001-inversion": (1, 1),
    }
    assert set(_gpu_counts(exercise_renders["minimal"]).values()) == {(None, None)}
    mia = exercise_renders["gpus"].named("Deployment", "ex-adult-mia-001-mia")
    spec = pod_spec(mia)
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert "runtimeClassName" not in pod_spec(
        exercise_renders["minimal"].named("Deployment", "ex-adult-mia-001-mia")
    )


def test_adversary_pods_never_hold_target_tokens_or_ground_truth_credentials(
    exercise_renders: dict[str, Manifests],
) -> None:
    manifests = exercise_renders["external-store"]
    target = manifests.named("Deployment", "ex-adult-mia-001-target")
    target_env = {e["name"]: e for e in pod_spec(target)["containers"][0]["env"]}
    assert target_env["LEAKRANGE_CLIENT_TOKENS"]["valueFrom"]["secretKeyRef"]["key"] == (
        "adult-mia-001.client-tokens"
    )
    assert target_env["LEAKRANGE_S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "range-s3"
    adversary = manifests.named("Deployment", "ex-adult-mia-001-mia")
    env = {e["name"]: e for e in pod_spec(adversary)["containers"][0]["env"]}
    assert "LEAKRANGE_CLIENT_TOKENS" not in env
    assert env["LEAKRANGE_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == (
        "adult-mia-001.service-token")
    for key in ("LEAKRANGE_S3_ACCESS_KEY", "LEAKRANGE_S3_SECRET_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "range-s3-adversary"
    assert pod_spec(adversary)["enableServiceLinks"] is False
