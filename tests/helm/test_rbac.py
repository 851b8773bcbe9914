"""The orchestrator's RBAC: one namespaced Role, no wildcards, only what exercises need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helm.cases import ALL_IDS
from tests.helm.rendering import (
    CONTROL_CHART,
    CONTROL_RELEASE,
    Manifests,
    helm_template,
    pod_spec,
)

# kind -> (API group, resource) for the kinds the exercise chart renders.
KIND_RESOURCES = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "Service": ("", "services"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Job": ("batch", "jobs"),
}
WRITE_VERBS = {"get", "list", "create", "update", "patch", "delete"}


TOKENS_SECRET = "range-leakrange-exercise-tokens"


def _grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


@pytest.mark.parametrize("case", ALL_IDS)
def test_no_cluster_scoped_rbac_anywhere(all_renders: dict[str, Manifests], case: str) -> None:
    kinds = {d["kind"] for d in all_renders[case].docs}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}


def test_role_has_no_wildcards(control_renders: dict[str, Manifests]) -> None:
    role = control_renders["defaults"].named("Role", "range-leakrange-orchestrator")
    for rule in role["rules"]:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], (key, rule)
        assert "resourceNames" not in rule or rule["resourceNames"]
    assert role["metadata"]["namespace"] == "range"


def test_role_covers_exactly_what_the_exercise_chart_renders(
    control_renders: dict[str, Manifests], exercise_renders: dict[str, Manifests]
) -> None:
    grants = _grants(control_renders["defaults"].named("Role", "range-leakrange-orchestrator"))
    rendered_kinds = {d["kind"] for m in exercise_renders.values() for d in m.docs}
    assert rendered_kinds == set(KIND_RESOURCES)
    for kind in rendered_kinds:
        assert grants[KIND_RESOURCES[kind]] >= WRITE_VERBS, kind
    # helm keeps release records in ConfigMaps (HELM_DRIVER=configmap, see below).
    assert grants[("", "configmaps")] >= WRITE_VERBS
    # Read-only for diagnostics; nothing else at all.
    assert grants[("", "pods")] == {"get", "list", "watch"}
    assert grants[("", "pods/log")] == {"get"}
    assert grants[("", "events")] == {"get", "list", "watch"}
    assert grants[("apps", "replicasets")] == {"get", "list", "watch"}
    expected = {*KIND_RESOURCES.values(), ("", "secrets"), ("", "configmaps"), ("", "pods"),
                ("", "pods/log"), ("", "events"), ("apps", "replicasets")}
    assert set(grants) == expected
    assert ("", "pods/exec") not in grants


def test_role_reaches_one_named_secret_only(control_renders: dict[str, Manifests]) -> None:
    """The orchestrator reads and patches the exercises' tokens Secret and no other: no list or
    watch (which would return every Secret's data), no create or delete."""
    manifests = control_renders["defaults"]
    role = manifests.named("Role", "range-leakrange-orchestrator")
    secret_rules = [rule for rule in role["rules"] if "secrets" in rule["resources"]]
    assert secret_rules == [{"apiGroups": [""], "resources": ["secrets"],
                             "resourceNames": [TOKENS_SECRET], "verbs": ["get", "patch"]}]
    # The chart creates that Secret empty (helm never owns its keys) ...
    secret = manifests.named("Secret", TOKENS_SECRET)
    assert "data" not in secret and "stringData" not in secret
    # ... and tells the orchestrator its name and to keep helm's records out of Secrets.
    container = pod_spec(manifests.named("Deployment", "range-leakrange-orchestrator"))[
        "containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LEAKRANGE_TOKENS_SECRET"] == TOKENS_SECRET
    assert env["LEAKRANGE_HELM_DRIVER"] == "configmap"


def test_role_binding_ties_the_role_to_the_orchestrator_account(
    control_renders: dict[str, Manifests],
) -> None:
    manifests = control_renders["defaults"]
    binding = manifests.named("RoleBinding", "range-leakrange-orchestrator")
    account = manifests.named("ServiceAccount", "range-leakrange-orchestrator")
    deployment = manifests.named("Deployment", "range-leakrange-orchestrator")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
        "name": "range-leakrange-orchestrator",
    }
    assert binding["subjects"] == [{
        "kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "range",
    }]
    assert pod_spec(deployment)["serviceAccountName"] == account["metadata"]["name"]


def test_orchestrator_egress_on_api_ports_goes_to_the_api_server_only(
    control_renders: dict[str, Manifests],
) -> None:
    policy = control_renders["defaults"].named("NetworkPolicy", "range-leakrange-orchestrator")
    api_rules = [rule for rule in policy["spec"]["egress"]
                 if {p["port"] for p in rule["ports"]} & {443, 6443}]
    assert api_rules
    for rule in api_rules:
        assert rule.get("to"), "an egress rule without peers allows any destination"
        assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == ["10.96.0.1/32"]


def test_api_server_cidrs_are_required_when_they_cannot_be_looked_up(helm_bin: Path) -> None:
    proc = helm_template(helm_bin, CONTROL_CHART, [], CONTROL_RELEASE)
    assert proc.returncode != 0
    assert "networkPolicy.apiServer.cidrs is required" in proc.stderr


# Kubernetes client method (``<verb>_namespaced_<kind>``) -> the Role rule it needs.
API_VERBS = {"read": "get", "list": "list", "create": "create", "delete": "delete",
             "patch": "patch", "replace": "update"}
API_KINDS = {
    "job": ("batch", "jobs"),
    "job_status": ("batch", "jobs/status"),
    "network_policy": ("networking.k8s.io", "networkpolicies"),
    "secret": ("", "secrets"),
    "event": ("", "events"),
    "pod": ("", "pods"),
    "pod_log": ("", "pods/log"),
    "pod_status": ("", "pods/status"),
}
# Outside the chart only: the tokens Secret is created by the chart, so the orchestrator's
# create (a fallback for clusters set up by hand) is never reached under this Role.
OUTSIDE_THE_CHART = {("create", "secret")}
ORCHESTRATOR_K8S = Path(__file__).resolve().parents[2] / "services/leakrange/orchestrator"


def test_role_grants_every_api_call_the_orchestrator_makes(
    control_renders: dict[str, Manifests],
) -> None:
    """Every ``<verb>_namespaced_<kind>`` call in the orchestrator's code is allowed by the Role
    (a call the Role does not allow fails only on a real cluster: kmock checks no RBAC)."""
    grants = _grants(control_renders["defaults"].named("Role", "range-leakrange-orchestrator"))
    pattern = re.compile(r"\.(read|list|create|delete|patch|replace)_namespaced_([a-z_]+)\b")
    calls: set[tuple[str, str]] = set()
    for source in ORCHESTRATOR_K8S.rglob("*.py"):
        calls.update(pattern.findall(source.read_text()))
    assert calls, "no Kubernetes API calls found: the scan is broken"
    for verb, kind in sorted(calls - OUTSIDE_THE_CHART):
        assert kind in API_KINDS, f"add {kind!r} to API_KINDS"
        rule = API_KINDS[kind]
        assert API_VERBS[verb] in grants.get(rule, set()), (
            f"{verb}_namespaced_{kind} needs {API_VERBS[verb]} on {rule}, which the Role lacks")
