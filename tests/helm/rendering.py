"""Render the charts with the real helm binary and pick objects out of the result."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTROL_CHART = ROOT / "helm" / "leakrange"
EXERCISE_CHART = ROOT / "helm" / "leakrange-exercise"
VALUES_DIR = Path(__file__).resolve().parent / "values"
CONTROL_BASE = CONTROL_CHART / "ci" / "default-values.yaml"
EXERCISE_BASE = EXERCISE_CHART / "ci" / "minimal-values.yaml"
NAMESPACE = "range"
CONTROL_RELEASE = "range"
EXERCISE_RELEASE = "ex-adult-mia-001"
INSTALLER = ROOT / "tools" / "install_helm.py"

POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "Job")


class RenderError(Exception):
    """helm template failed; the message is helm's stderr."""


def helm_template(
    helm: Path, chart: Path, values: Sequence[Path], release: str, extra: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    cmd = [str(helm), "template", release, str(chart), "--namespace", NAMESPACE]
    for path in values:
        cmd += ["--values", str(path)]
    cmd += list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@dataclass(frozen=True)
class Manifests:
    """The objects one `helm template` call rendered."""

    docs: tuple[dict[str, Any], ...]

    @classmethod
    def parse(cls, text: str) -> Manifests:
        return cls(tuple(d for d in yaml.safe_load_all(text) if d))

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        if len(found) != 1:
            raise KeyError(f"{kind}/{name}: {len(found)} objects")
        return found[0]

    def workloads(self) -> Iterator[dict[str, Any]]:
        return (d for d in self.docs if d["kind"] in POD_TEMPLATE_KINDS)


def render(
    helm: Path, chart: Path, values: Sequence[Path], release: str, extra: Sequence[str] = ()
) -> Manifests:
    proc = helm_template(helm, chart, values, release, extra)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip())
    return Manifests.parse(proc.stdout)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
