"""Reference training as Indexed Jobs (``referenceTraining``), rendered by the real helm.

Every case of tests/helm/cases.py (``reference-jobs`` among them) is also validated against the
Kubernetes schemas and the pod-security and network-policy checks of the other chart tests."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    Manifests,
    RenderError,
    pod_labels,
    pod_spec,
    render,
    selector_matches,
)

EX = "ex-adult-mia-001"
TASK = "sha256:" + "1" * 64


def test_jobs_are_off_by_default(exercise_renders: dict[str, Manifests]) -> None:
    for case in ("minimal", "gpus", "families"):
        assert not exercise_renders[case].kind("Job")
        components = {d["metadata"]["labels"]["app.kubernetes.io/component"]
                      for d in exercise_renders[case].docs}
        assert "reference-training" not in components


def test_one_indexed_job_per_item_with_retries_per_index(
        exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["reference-jobs"]
    jobs = {j["metadata"]["name"]: j for j in manifests.kind("Job")}
    assert sorted(jobs) == [f"{EX}-refs-lira-0", f"{EX}-refs-rmia-0"]
    lira = jobs[f"{EX}-refs-lira-0"]["spec"]
    assert lira["completionMode"] == "Indexed"
    assert (lira["completions"], lira["parallelism"]) == (4, 2)
    assert lira["backoffLimitPerIndex"] == 2 and lira["activeDeadlineSeconds"] == 3600
    assert jobs[f"{EX}-refs-rmia-0"]["spec"]["parallelism"] == 1  # never above completions
    pod = lira["template"]["spec"]
    assert pod["restartPolicy"] == "Never"  # required by backoffLimitPerIndex
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    container = pod["containers"][0]
    assert container["args"][:3] == ["reference-shard", "--task", TASK]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    for doc in manifests.docs:
        kubernetes_validate.validate(doc, "1.35", strict=True)


def test_job_pods_get_only_the_adversary_identity_and_no_api_token(
        exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["reference-jobs"]
    for job in manifests.kind("Job"):
        pod = pod_spec(job)
        assert pod["automountServiceAccountToken"] is False
        secrets = {e["valueFrom"]["secretKeyRef"]["name"]
                   for e in pod["containers"][0]["env"] if "valueFrom" in e}
        assert secrets == {"range-leakrange-minio-adversary"}  # never the range's root identity
        store = pod["containers"][0]["args"][pod["containers"][0]["args"].index("--store") + 1]
        assert store.startswith("s3://leakrange/adversary?")


def test_job_pods_have_no_ingress_and_reach_only_store_and_dns(
        exercise_renders: dict[str, Manifests]) -> None:
    manifests = exercise_renders["reference-jobs"]
    policy = manifests.named("NetworkPolicy", f"{EX}-reference-training")
    for job in manifests.kind("Job"):
        assert selector_matches(policy["spec"]["podSelector"], pod_labels(job))
    adversaries = manifests.named("NetworkPolicy", f"{EX}-adversaries")
    assert not selector_matches(adversaries["spec"]["podSelector"],
                                pod_labels(manifests.kind("Job")[0]))
    assert policy["spec"]["ingress"] == []
    peers = [peer for rule in policy["spec"]["egress"] for peer in rule["to"]]
    assert [p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") for p in peers] \
        == ["minio", None]
    assert peers[1]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


@pytest.mark.parametrize(("job", "word"), [
    ({"name": "Bad_Name", "task": TASK, "shards": 1}, "name"),
    ({"name": "lira", "task": "sha256:xyz", "shards": 1}, "task"),
    ({"name": "lira", "task": TASK, "shards": 0}, "shards"),
])
def test_bad_job_items_are_refused_naming_the_field(
        helm_bin: Path, tmp_path: Path, job: dict[str, object], word: str) -> None:
    values = tmp_path / "jobs.json"
    values.write_text(__import__("json").dumps(
        {"referenceTraining": {"enabled": True, "jobs": [job]}}))
    with pytest.raises(RenderError) as err:
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, values], EXERCISE_RELEASE)
    assert "referenceTraining" in str(err.value) and word in str(err.value)
