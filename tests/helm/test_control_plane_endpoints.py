"""``endpoints.*`` of the control-plane chart: the orchestrator checks a target.endpoint exercise's
inference server before it starts (metadata + a two-record inference), so it gets the bearer
tokens of exactly the listed Secrets, as read-only files (no secretKeyRef env vars, no new Secret
reads in its Role), and may reach the listed inference servers and nothing else new. Rendered
with the real helm; the cases are also validated against the Kubernetes schemas by
test_manifests (tests/helm/cases.py). The token files themselves are read by
``resolve_token``, tested on real files here too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from leakrange.common.errors import FailedPrecondition
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.kubernetes.values import target_values
from leakrange.target.endpoint_host import resolve_token, secret_env_name
from tests.helm.netpol import Endpoint, allowed
from tests.helm.rendering import (
    CONTROL_BASE,
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    NAMESPACE,
    Manifests,
    helm_template,
    pod_labels,
    pod_spec,
    render,
)

ORCH = "range-leakrange-orchestrator"
MOUNT = "/etc/leakrange-endpoint-secrets"
SERVER = Endpoint("models", {"serving.kserve.io/inferenceservice": "clinic"})
OTHER = Endpoint("models", {"serving.kserve.io/inferenceservice": "other"})


def _orchestrator(manifests: Manifests) -> dict[str, Any]:
    return pod_spec(manifests.named("Deployment", ORCH))


def _endpoint_env(manifests: Manifests) -> dict[str, Any]:
    env = _orchestrator(manifests)["containers"][0]["env"]
    return {e["name"]: e for e in env if e["name"].startswith("LEAKRANGE_SECRET_")}


def test_the_orchestrator_gets_exactly_the_listed_secrets_as_files(
        control_renders: dict[str, Manifests]) -> None:
    manifests = control_renders["endpoints"]
    spec = _orchestrator(manifests)
    volumes = {v["name"]: v for v in spec["volumes"]}
    sources = volumes["endpoint-secrets"]["projected"]["sources"]
    assert [s["secret"] for s in sources] == [
        {"name": "clinic-endpoint", "items": [{"key": "token", "path": "clinic-endpoint/token"}]},
        {"name": "pharma.models", "items": [{"key": "bearer", "path": "pharma.models/bearer"}]},
    ]
    assert volumes["endpoint-secrets"]["projected"]["defaultMode"] == 0o440
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["endpoint-secrets"] == {"name": "endpoint-secrets", "mountPath": MOUNT,
                                          "readOnly": True}
    clinic, pharma = secret_env_name("clinic-endpoint"), secret_env_name("pharma.models")
    assert _endpoint_env(manifests) == {
        f"{clinic}_FILE": {"name": f"{clinic}_FILE", "value": f"{MOUNT}/clinic-endpoint/token"},
        f"{clinic}_KEY": {"name": f"{clinic}_KEY", "value": "token"},
        f"{pharma}_FILE": {"name": f"{pharma}_FILE", "value": f"{MOUNT}/pharma.models/bearer"},
        f"{pharma}_KEY": {"name": f"{pharma}_KEY", "value": "bearer"},
    }
    # No endpoint Secret anywhere else in the orchestrator pod, and none by default.
    refs = [e for e in spec["containers"][0]["env"] if "valueFrom" in e
            and e["valueFrom"].get("secretKeyRef", {}).get("name") in {"clinic-endpoint",
                                                                        "pharma.models"}]
    assert refs == []
    default = _orchestrator(control_renders["defaults"])
    assert "endpoint-secrets" not in {v["name"] for v in default["volumes"]}
    assert _endpoint_env(control_renders["defaults"]) == {}


def test_the_role_gains_no_secret_reads(control_renders: dict[str, Manifests]) -> None:
    assert (control_renders["endpoints"].named("Role", ORCH)["rules"]
            == control_renders["defaults"].named("Role", ORCH)["rules"])


def test_the_orchestrator_may_reach_the_listed_inference_servers_only(
        control_renders: dict[str, Manifests]) -> None:
    manifests = control_renders["endpoints"]
    orch = Endpoint(NAMESPACE, dict(pod_labels(manifests.named("Deployment", ORCH))))
    policies = manifests.kind("NetworkPolicy")
    assert allowed(policies, orch, SERVER, 8081)
    assert not allowed(policies, orch, SERVER, 8080)
    assert not allowed(policies, orch, OTHER, 8081)
    default = control_renders["defaults"]
    assert not allowed(default.kind("NetworkPolicy"), orch, SERVER, 8081)
    outside = control_renders["endpoints-cidrs"]
    policies = outside.kind("NetworkPolicy")
    assert allowed(policies, orch, Endpoint(ip="203.0.113.7"), 443)
    assert not allowed(policies, orch, Endpoint(ip="198.51.100.7"), 443)


def test_exercise_targets_get_the_egress_and_the_listed_key(
        helm_bin: Path, control_renders: dict[str, Manifests], tmp_path: Path) -> None:
    config = control_renders["endpoints"].named("ConfigMap", ORCH)
    defaults = tmp_path / "exercise-values.yaml"
    defaults.write_text(config["data"]["exercise-values.yaml"])
    spec = tmp_path / "spec.yaml"
    spec.write_text("target:\n  model: sha256:" + "1" * 64 + "\n  endpoint:\n"
                    "    credentialsSecret: pharma.models\n    credentialsKey: bearer\n")
    manifests = render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, defaults, spec],
                       EXERCISE_RELEASE)
    target = manifests.named("Deployment", f"{EXERCISE_RELEASE}-target")
    env = {e["name"]: e for e in pod_spec(target)["containers"][0]["env"]}
    assert env[secret_env_name("pharma.models")]["valueFrom"] == {
        "secretKeyRef": {"name": "pharma.models", "key": "bearer"}}
    me = Endpoint(NAMESPACE, dict(pod_labels(target)))
    assert allowed(manifests.kind("NetworkPolicy"), me, SERVER, 8081)
    assert not allowed(manifests.kind("NetworkPolicy"), me, OTHER, 8081)


def test_the_orchestrator_hands_the_target_the_listed_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TargetDeploySpec("sha256:" + "1" * 64, Access(), credentials_secret="pharma.models")
    assert target_values(spec, "ex-tokens")["endpoint"]["credentialsKey"] == "token"
    monkeypatch.setenv(secret_env_name("pharma.models") + "_KEY", "bearer")
    assert target_values(spec, "ex-tokens")["endpoint"] == {
        "credentialsSecret": "pharma.models", "credentialsKey": "bearer"}


@pytest.mark.parametrize(("values", "message"), [
    ({"credentialsSecrets": [{"name": "a-b"}, {"name": "a.b"}]},
     "endpoints.credentialsSecrets[1].name: a.b is listed twice"),
    ({"credentialsSecrets": [{"name": "range-leakrange-minio"}]},
     "endpoints.credentialsSecrets[0].name: range-leakrange-minio is one of the range's own"),
    ({"egress": {"port": 8081}},
     "endpoints.egress.port needs endpoints.egress.podLabels or endpoints.egress.cidrs"),
    ({"egress": {"cidrs": ["203.0.113.0/24"]}},
     "endpoints.egress.port is required"),
])
def test_wrong_endpoint_values_fail_naming_the_field(
        helm_bin: Path, tmp_path: Path, values: dict[str, Any], message: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"endpoints": values}))
    for extra in ([], ["--skip-schema-validation"]):
        proc = helm_template(helm_bin, CONTROL_CHART, [CONTROL_BASE, path], CONTROL_RELEASE,
                             extra)
        assert proc.returncode != 0
        assert message in proc.stderr


def test_the_schema_refuses_a_bad_secret_name(helm_bin: Path, tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("endpoints:\n  credentialsSecrets:\n    - name: Not_A_Secret\n")
    proc = helm_template(helm_bin, CONTROL_CHART, [CONTROL_BASE, path],
                         CONTROL_RELEASE)
    assert proc.returncode != 0
    assert "credentialsSecrets" in proc.stderr


def test_the_token_is_read_from_the_mounted_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var = secret_env_name("clinic-endpoint")
    token_file = tmp_path / "token"
    token_file.write_text("s3cr3t-bearer\n")
    monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(var + "_FILE", str(token_file))
    assert resolve_token("clinic-endpoint") == "s3cr3t-bearer"
    token_file.write_text("")
    with pytest.raises(FailedPrecondition, match="is empty"):
        resolve_token("clinic-endpoint")
    monkeypatch.setenv(var + "_FILE", str(tmp_path / "missing"))
    with pytest.raises(FailedPrecondition, match="cannot read"):
        resolve_token("clinic-endpoint")


def test_a_secret_the_control_plane_was_not_given_is_refused_naming_the_field(
        monkeypatch: pytest.MonkeyPatch) -> None:
    var = secret_env_name("not-listed")
    monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(var + "_FILE", raising=False)
    with pytest.raises(FailedPrecondition) as info:
        resolve_token("not-listed")
    text = str(info.value)
    assert "target.endpoint.credentials_secret" in text
    assert "'not-listed'" in text
    assert "endpoints.credentialsSecrets" in text
