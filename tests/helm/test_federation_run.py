"""The federation's run Job (``federation.run``, federation-run-job.yaml), rendered by the real
helm. The ``federated-run`` case of tests/helm/cases.py (the values the orchestrator renders:
SuperLink, SuperNodes and the Job, no adversary yet) is also validated against the Kubernetes
1.35 schemas, the pod-security, store-identity and checkov checks of the other chart tests."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helm.netpol import Endpoint, allowed
from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    VALUES_DIR,
    Manifests,
    RenderError,
    pod_labels,
    pod_spec,
    render,
)

EX = "ex-adult-mia-001"
JOB = f"{EX}-fedrun-r0"


def _secrets(spec: dict) -> set[str]:
    return {e["valueFrom"]["secretKeyRef"]["name"]
            for c in [*spec.get("initContainers", []), *spec["containers"]]
            for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def test_the_run_job_is_rendered_only_for_a_run(exercise_renders: dict[str, Manifests]) -> None:
    assert not exercise_renders["federated"].kind("Job")  # the release itself has none
    jobs = exercise_renders["federated-run"].kind("Job")
    assert [j["metadata"]["name"] for j in jobs] == [JOB]


def test_the_run_job_submits_flwr_run_once_without_identity_or_token(
        exercise_renders: dict[str, Manifests]) -> None:
    job = exercise_renders["federated-run"].named("Job", JOB)
    kubernetes_validate.validate(job, "1.35", strict=True)
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["completions"] == 1
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "leakrange.federation.submit_run"]
    args = container["args"]
    assert args[args.index("--superlink") + 1] == f"{EX}-superlink:9092"
    assert args[args.index("--prefix") + 1] == "federation/ex-adult-mia-001/run-0"
    base = yaml.safe_load(EXERCISE_BASE.read_text())["store"]
    assert args[args.index("--store") + 1] == base["url"]  # the range's store, named only
    assert _secrets(pod) == set()  # it holds no store identity at all
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(container["resources"]) == {"requests", "limits"}


def test_the_serverapp_writes_with_the_range_identity_only(
        exercise_renders: dict[str, Manifests]) -> None:
    base = yaml.safe_load(EXERCISE_BASE.read_text())["store"]
    link = pod_spec(exercise_renders["federated-run"].named("Deployment", f"{EX}-superlink"))
    assert _secrets(link) == {base["credentialsSecret"]["name"]}
    nodes = pod_spec(exercise_renders["federated-run"].named("StatefulSet", f"{EX}-supernode"))
    assert _secrets({"containers": nodes["containers"]}) == set()  # only the init container


def test_the_run_pod_reaches_the_superlink_and_dns_only(
        exercise_renders: dict[str, Manifests]) -> None:
    m = exercise_renders["federated-run"]
    policies = m.kind("NetworkPolicy")
    ns = m.named("Job", JOB)["metadata"]["namespace"]
    run = Endpoint(ns, pod_labels(m.named("Job", JOB)))
    link = Endpoint(ns, pod_labels(m.named("Deployment", f"{EX}-superlink")))
    node = Endpoint(ns, pod_labels(m.named("StatefulSet", f"{EX}-supernode")))
    minio = Endpoint(ns, {"app.kubernetes.io/component": "minio",
                          "app.kubernetes.io/name": "leakrange",
                          "app.kubernetes.io/instance": "range"})
    assert allowed(policies, run, link, 9092)
    assert not allowed(policies, run, node, 9094)
    assert not allowed(policies, run, minio, 9000)
    assert not allowed(policies, link, run, 8080)  # nothing may call the run pod
    policy = m.named("NetworkPolicy", f"{EX}-federation-run")["spec"]
    assert policy["ingress"] == []
    peers = [p for rule in policy["egress"] for p in rule["to"]]
    assert peers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "superlink"
    assert peers[1]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


def test_a_run_needs_its_observation_prefix(helm_bin: Path, tmp_path: Path) -> None:
    values = tmp_path / "no-prefix.json"
    values.write_text(json.dumps({"federation": {"observationPrefix": ""}}))
    with pytest.raises(RenderError, match=r"federation\.observationPrefix is required"):
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, VALUES_DIR / "exercise-federated-run.yaml",
                                          values], EXERCISE_RELEASE)


@pytest.mark.parametrize(("federation", "word"), [
    ({"run": {"name": "Bad_Name"}}, "name"),
    ({"run": {"name": "r0", "oops": 1}}, "oops"),
    ({"observationPrefix": "../escape"}, "observationPrefix"),
])
def test_bad_run_values_are_refused_naming_the_field(
        helm_bin: Path, tmp_path: Path, federation: dict[str, object], word: str) -> None:
    values = tmp_path / "bad.json"
    values.write_text(json.dumps({"federation": federation}))
    with pytest.raises(RenderError) as err:
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, VALUES_DIR / "exercise-federated-run.yaml",
                                          values], EXERCISE_RELEASE)
    assert word in str(err.value)


def test_no_adversary_is_refused_unless_a_federation_runs(helm_bin: Path, tmp_path: Path) -> None:
    values = tmp_path / "none.json"
    values.write_text(json.dumps({"adversaries": []}))
    with pytest.raises(RenderError, match="adversaries"):
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, values], EXERCISE_RELEASE)
