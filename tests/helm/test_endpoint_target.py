"""``target.endpoint`` on Kubernetes: the target pod gets the inference server's bearer token from
the named Secret (never in the values), and may reach that server and nothing else new."""

from __future__ import annotations

from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.kubernetes.values import target_values
from leakrange.target.endpoint_host import secret_env_name
from tests.helm.netpol import Endpoint, allowed
from tests.helm.rendering import NAMESPACE, Manifests, pod_labels, pod_spec

EX = "ex-adult-mia-001"


def test_the_token_comes_from_the_named_secret(exercise_renders: dict[str, Manifests]) -> None:
    target = pod_spec(exercise_renders["endpoint"].named("Deployment", f"{EX}-target"))
    env = {e["name"]: e for e in target["containers"][0]["env"]}
    name = secret_env_name("clinic-endpoint")
    assert name == "LEAKRANGE_SECRET_CLINIC_ENDPOINT"
    assert env[name]["valueFrom"] == {"secretKeyRef": {"name": "clinic-endpoint",
                                                       "key": "token"}}
    minimal = pod_spec(exercise_renders["minimal"].named("Deployment", f"{EX}-target"))
    assert not [e for e in minimal["containers"][0]["env"]
                if e["name"].startswith("LEAKRANGE_SECRET_")]


def test_the_target_may_reach_the_inference_server_only(
        exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["endpoint"]
    policies = manifests.kind("NetworkPolicy")
    target = Endpoint(NAMESPACE, dict(pod_labels(manifests.named("Deployment", f"{EX}-target"))))
    server = Endpoint("models", {"serving.kserve.io/inferenceservice": "clinic"})
    elsewhere = Endpoint("models", {"serving.kserve.io/inferenceservice": "other"})
    mia = Endpoint(NAMESPACE, dict(pod_labels(manifests.named("Deployment", f"{EX}-mia"))))
    assert allowed(policies, target, server, 8081, "TCP")
    assert not allowed(policies, target, server, 8080, "TCP")
    assert not allowed(policies, target, elsewhere, 8081, "TCP")
    assert not allowed(policies, mia, server, 8081, "TCP")  # adversaries never reach it
    minimal = exercise_renders["minimal"]
    minimal_target = Endpoint(NAMESPACE, dict(pod_labels(minimal.named("Deployment",
                                                                       f"{EX}-target"))))
    assert not allowed(minimal.kind("NetworkPolicy"), minimal_target, server, 8081, "TCP")


def test_the_orchestrator_passes_the_secret_name_not_a_token() -> None:
    spec = TargetDeploySpec("sha256:" + "1" * 64, Access(), credentials_secret="clinic-endpoint")
    values = target_values(spec, "ex-tokens")
    assert values["endpoint"] == {"credentialsSecret": "clinic-endpoint",
                                  "credentialsKey": "token"}
    assert "endpoint" not in target_values(TargetDeploySpec("sha256:" + "1" * 64, Access()),
                                           "ex-tokens")
