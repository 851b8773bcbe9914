"""A third-party scanner over both charts and every Dockerfile: checkov 3.3 (PyPI), installed in
its own venv by `make checkov` (part of `make test`), configured by helm/.checkov.yaml.

The control-plane chart is scanned with its ci/ values (offline `helm template` cannot look up
the API server's address), the exercise chart with its bare defaults, which render every object
(a scanner once reported this chart clean after scanning nothing), and once more with the
federation and its run Job on (``federation.enabled`` is off by default). Every skipped check,
global or annotated on an object, must be explained in the control-plane chart's README.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.rendering import CONTROL_CHART, EXERCISE_CHART, ROOT, VALUES_DIR, Manifests

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = ROOT / "helm" / ".checkov.yaml"
README = CONTROL_CHART / "README.md"
SCANS = {
    "control": ["-d", str(CONTROL_CHART), "--framework", "helm",
                "--var-file", str(CONTROL_CHART / "ci" / "default-values.yaml")],
    "exercise+images": ["-d", str(EXERCISE_CHART), "-d", str(ROOT / "attack-images"),
                        "--framework", "helm", "dockerfile"],
    # The federation (off by default) with its run Job, as the orchestrator renders it.
    "exercise-federation": ["-d", str(EXERCISE_CHART), "--framework", "helm", "--var-file",
                            str(VALUES_DIR / "exercise-federated-run.yaml")],
}


def _run(helm_bin: Path, args: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, "PATH": f"{helm_bin.parent}{os.pathsep}{os.environ['PATH']}",
           "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run([str(CHECKOV), "--config-file", str(CONFIG), "-o", "json", *args],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    # One JSON document per framework, printed one after the other (a report or a list).
    decoder, text, reports = json.JSONDecoder(), proc.stdout.strip(), []
    while text:
        value, end = decoder.raw_decode(text)
        reports += value if isinstance(value, list) else [value]
        text = text[end:].strip()
    return reports


@pytest.fixture(scope="module")
def reports(helm_bin: Path) -> dict[str, list[dict[str, Any]]]:
    assert CHECKOV.exists(), "checkov is not installed: run `make checkov` (make test does)"
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, helm_bin, args) for name, args in SCANS.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize(("scan", "check_type", "min_resources"), [
    ("control", "helm", 20), ("exercise+images", "helm", 7),
    ("exercise+images", "dockerfile", 6), ("exercise-federation", "helm", 8),
])
def test_checkov_finds_nothing_it_was_not_told_about(
    reports: dict[str, list[dict[str, Any]]], scan: str, check_type: str, min_resources: int,
) -> None:
    matching = [r for r in reports[scan] if r["check_type"] == check_type]
    assert matching, f"no {check_type} report"
    failed = [(c["check_id"], c["resource"]) for r in matching
              for c in r["results"]["failed_checks"]]
    assert failed == []
    assert sum(r["summary"]["parsing_errors"] for r in matching) == 0
    # It scanned the objects, not nothing.
    assert sum(r["summary"]["resource_count"] for r in matching) >= min_resources
    assert sum(r["summary"]["passed"] for r in matching) > 100


def _skipped_ids(renders: dict[str, Manifests]) -> set[str]:
    """Checks skipped in helm/.checkov.yaml or by a checkov.io/skipN annotation on an object."""
    annotated = {value.split("=", 1)[0]
                 for manifests in renders.values() for doc in manifests.docs
                 for key, value in (doc["metadata"].get("annotations") or {}).items()
                 if key.startswith("checkov.io/skip")}
    configured = set(yaml.safe_load(CONFIG.read_text())["skip-check"])
    return annotated | configured


def test_every_skipped_check_is_explained_in_the_chart_readme(
    all_renders: dict[str, Manifests],
) -> None:
    section = README.read_text().split("## Scanner findings", 1)[1]
    explained = set(re.findall(r"`(CKV_[A-Z0-9_]+)`", section))
    skipped = _skipped_ids(all_renders)
    assert {"CKV_K8S_38", "CKV_K8S_21"} <= skipped  # an annotation and a configured skip
    assert skipped <= explained, skipped - explained
