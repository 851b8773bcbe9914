"""The federation of a ``target.federated`` exercise in the exercise chart (``federation.*``):
one SuperLink Deployment + Service, one SuperNode per client (StatefulSet, partition i for pod
i), and network policies that keep the adversaries away from the federation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    VALUES_DIR,
    Manifests,
    RenderError,
    pod_spec,
    render,
)

EX = "ex-adult-mia-001"


def _component_selector(peer: dict) -> str:
    return peer.get("podSelector", {}).get("matchLabels", {}).get(
        "app.kubernetes.io/component", "")


def test_one_supernode_per_client_each_with_its_own_partition(
        exercise_renders: dict[str, Manifests]) -> None:
    m = exercise_renders["federated"]
    nodes = m.named("StatefulSet", f"{EX}-supernode")
    assert nodes["spec"]["replicas"] == 3
    spec = pod_spec(nodes)
    init = spec["initContainers"][0]
    assert init["args"][init["args"].index("--client") + 1] == "$(PARTITION_ID)"
    index_env = {e["name"]: e for e in init["env"]}["PARTITION_ID"]
    assert index_env["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.labels['apps.kubernetes.io/pod-index']"
    node = spec["containers"][0]
    assert node["command"] == ["flower-supernode"]
    assert node["args"][node["args"].index("--superlink") + 1] == f"{EX}-superlink:9092"
    assert "partition-id=$(PARTITION_ID)" in node["args"][node["args"].index("--node-config") + 1]
    assert {v["name"]: v.get("readOnly", False) for v in node["volumeMounts"]}["partition"]
    link = m.named("Deployment", f"{EX}-superlink")
    assert pod_spec(link)["containers"][0]["command"] == ["flower-superlink"]
    assert m.named("Service", f"{EX}-superlink")["spec"]["ports"][0]["port"] == 9092
    assert not [w for w in m.workloads()
                if w["metadata"]["labels"]["app.kubernetes.io/component"] == "target"]


def test_partitions_are_fetched_with_the_range_identity_never_the_adversaries(
        exercise_renders: dict[str, Manifests]) -> None:
    base = yaml.safe_load(EXERCISE_BASE.read_text())["store"]
    init = pod_spec(exercise_renders["federated"].named(
        "StatefulSet", f"{EX}-supernode"))["initContainers"][0]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in init["env"]
               if "secretKeyRef" in e.get("valueFrom", {})}
    assert secrets == {base["credentialsSecret"]["name"]}
    assert base["adversaryCredentialsSecret"]["name"] not in secrets


def test_network_policies_keep_adversaries_out_of_the_federation(
        exercise_renders: dict[str, Manifests]) -> None:
    m = exercise_renders["federated"]
    link = m.named("NetworkPolicy", f"{EX}-superlink")["spec"]
    sources = {_component_selector(p) for rule in link["ingress"] for p in rule["from"]}
    assert "adversary" not in sources and "supernode" in sources
    nodes = m.named("NetworkPolicy", f"{EX}-supernodes")["spec"]
    assert nodes["ingress"] == []
    targets = {_component_selector(p) for rule in nodes["egress"] for p in rule.get("to", [])}
    assert "superlink" in targets and "adversary" not in targets
    adversaries = m.named("NetworkPolicy", f"{EX}-adversaries")["spec"]
    reach = {_component_selector(p) for rule in adversaries["egress"]
             for p in rule.get("to", [])}
    assert not reach & {"superlink", "supernode"}


def test_federation_needs_its_partitions_prefix(helm_bin: Path, tmp_path: Path) -> None:
    values = tmp_path / "no-prefix.yaml"
    values.write_text("federation:\n  partitionsPrefix: \"\"\n")
    with pytest.raises(RenderError, match=r"federation\.partitionsPrefix is required"):
        render(helm_bin, EXERCISE_CHART, [EXERCISE_BASE, VALUES_DIR / "exercise-federated.yaml",
                                          values], EXERCISE_RELEASE)
