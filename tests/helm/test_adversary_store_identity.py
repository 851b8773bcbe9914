"""Adversary pods never get the artifact store's root credentials.

The control plane creates a separate MinIO user limited to the adversary prefix (a hook Job
with a policy on <bucket>/<prefix>/* only) and hands its Secret, not the root one, to every
exercise; the exercise chart refuses to render adversaries with the range's own Secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.cases import EXERCISE_IDS
from tests.helm.rendering import (
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    Manifests,
    helm_template,
    pod_spec,
)

ROOT_SECRET = "range-leakrange-minio"
ADVERSARY_SECRET = "range-leakrange-minio-adversary"


def _secret_refs(workload: dict[str, Any]) -> set[str]:
    """Every Secret a pod template can read: env, envFrom and volumes."""
    spec = pod_spec(workload)
    names: set[str] = set()
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                names.add(source["secretRef"]["name"])
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    return names


def _adversaries(manifests: Manifests) -> list[dict[str, Any]]:
    return [w for w in manifests.workloads()
            if w["metadata"]["labels"].get("app.kubernetes.io/component") == "adversary"]


@pytest.mark.parametrize("case", EXERCISE_IDS)
def test_no_adversary_pod_reads_the_range_store_secret(
    all_renders: dict[str, Manifests], case: str
) -> None:
    manifests = all_renders[case]
    targets = [w for w in manifests.workloads()
               if w["metadata"]["labels"]["app.kubernetes.io/component"] == "target"]
    if targets:  # the store identity of the range side, as the target pod holds it
        target_args = pod_spec(targets[0])["containers"][0]["args"]
        range_secrets = {ref for ref in _secret_refs(targets[0]) if not ref.endswith("-tokens")}
        range_store = target_args[target_args.index("--store") + 1]
    else:  # target.enabled false: the range side's identity is the values' own
        assert case in ("exercise/no-target", "exercise/federated", "exercise/federated-run")
        base = yaml.safe_load(EXERCISE_BASE.read_text())["store"]
        range_secrets, range_store = {base["credentialsSecret"]["name"]}, base["url"]
    assert range_secrets
    adversaries = _adversaries(manifests)
    assert adversaries or case == "exercise/federated-run"  # the run comes before them
    for adversary in adversaries:
        refs = _secret_refs(adversary)
        assert not refs & range_secrets, adversary["metadata"]["name"]
        assert ROOT_SECRET not in refs
        container = pod_spec(adversary)["containers"][0]
        store = container["args"][container["args"].index("--store") + 1]
        assert store != range_store


def test_control_plane_hands_exercises_the_adversary_identity(
    control_renders: dict[str, Manifests], exercise_renders: dict[str, Manifests]
) -> None:
    control = control_renders["defaults"]
    config = control.named("ConfigMap", "range-leakrange-orchestrator")
    store = yaml.safe_load(config["data"]["exercise-values.yaml"])["store"]
    assert store["credentialsSecret"]["name"] == ROOT_SECRET
    assert store["adversaryCredentialsSecret"]["name"] == ADVERSARY_SECRET
    assert store["adversaryUrl"].startswith("s3://leakrange/adversary?")
    secret = control.named("Secret", ADVERSARY_SECRET)
    assert set(secret["data"]) == {"access-key", "secret-key"}
    for adversary in _adversaries(exercise_renders["from-control-plane"]):
        assert _secret_refs(adversary) == {ADVERSARY_SECRET, "ex-adult-mia-001-tokens"}


def test_adversary_policy_is_limited_to_its_prefix(control_renders: dict[str, Manifests]) -> None:
    control = control_renders["defaults"]
    policy_map = control.named("ConfigMap", "range-leakrange-minio-adversary-policy")
    policy = json.loads(policy_map["data"]["adversary-policy.json"])
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all(a.startswith("s3:") and "*" not in a for a in statement["Action"])
        for resource in statement["Resource"]:
            if resource == "arn:aws:s3:::leakrange":  # bucket-level: listing, by prefix only
                prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
                assert all(p.startswith("adversary/") for p in prefixes)
            else:
                assert resource == "arn:aws:s3:::leakrange/adversary/*"
    job = control.named("Job", "range-leakrange-minio-adversary-user")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    script = pod_spec(job)["containers"][0]["command"][-1]
    assert "mc admin user add" in script and "mc admin policy attach" in script


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", "store.adversaryCredentialsSecret.name=range-leakrange-minio"],
         "store.adversaryCredentialsSecret.name must differ from store.credentialsSecret.name"),
        (["--set", "store.adversaryCredentialsSecret.name="],
         "store.adversaryCredentialsSecret.name is required"),
        (["--set", "store.adversaryUrl="], "store.adversaryUrl is required"),
        (["--set-string",
          "store.adversaryUrl=s3://leakrange?endpoint=range-leakrange-minio.range.svc:9000"
          "&secure=false"],
         "store.adversaryUrl must differ from store.url"),
    ],
)
def test_exercise_chart_refuses_the_range_secret_for_adversaries(
    helm_bin: Path, overrides: list[str], message: str
) -> None:
    proc = helm_template(helm_bin, EXERCISE_CHART, [EXERCISE_BASE], EXERCISE_RELEASE, overrides)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_external_s3_requires_a_separate_adversary_secret(helm_bin: Path) -> None:
    base = ["--set", "minio.enabled=false", "--set", "externalS3.enabled=true",
            "--set", "externalS3.endpoint=s3.example:443", "--set", "externalS3.existingSecret=s3",
            "--set", "externalS3.cidrs={10.0.0.0/8}"]
    proc = helm_template(helm_bin, CONTROL_CHART, [], CONTROL_RELEASE, base)
    assert proc.returncode != 0
    assert "externalS3.adversaryExistingSecret is required" in proc.stderr
    same = [*base, "--set", "externalS3.adversaryExistingSecret=s3"]
    proc = helm_template(helm_bin, CONTROL_CHART, [], CONTROL_RELEASE, same)
    assert "externalS3.adversaryExistingSecret must differ" in proc.stderr
