"""Fixtures for the chart tests: a pinned helm binary and every values case rendered once."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from tests.helm.cases import CONTROL_CASES, EXERCISE_CASES, FROM_CONTROL_PLANE
from tests.helm.rendering import (
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    INSTALLER,
    VALUES_DIR,
    Manifests,
    render,
)


def load_installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_helm", INSTALLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("install_helm", module)  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def installer() -> ModuleType:
    return load_installer()


@pytest.fixture(scope="session")
def helm_bin(installer: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pinned helm (+ kubectl): the venv's when both have the pinned checksums, else
    installed by tools/install_helm.py into a temporary folder."""
    venv_bin = Path(sys.prefix) / "bin"
    if all(installer.is_installed(venv_bin, binary) for binary in installer.PINNED):
        return venv_bin / "helm"
    dest = tmp_path_factory.mktemp("helm-bin")
    proc = subprocess.run(
        [sys.executable, str(INSTALLER), "--dest", str(dest)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dest / "helm"


@pytest.fixture(scope="session")
def control_renders(helm_bin: Path) -> dict[str, Manifests]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case: pool.submit(render, helm_bin, CONTROL_CHART, files, CONTROL_RELEASE)
            for case, files in CONTROL_CASES.items()
        }
        return {case: f.result() for case, f in futures.items()}


@pytest.fixture(scope="session")
def exercise_renders(
    helm_bin: Path, control_renders: dict[str, Manifests],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Manifests]:
    config = control_renders["defaults"].named("ConfigMap", "range-leakrange-orchestrator")
    from_control = tmp_path_factory.mktemp("exercise-values") / "exercise-values.yaml"
    from_control.write_text(config["data"]["exercise-values.yaml"])
    cases = dict(EXERCISE_CASES)
    cases[FROM_CONTROL_PLANE] = [from_control, VALUES_DIR / "exercise-spec.yaml"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case: pool.submit(render, helm_bin, EXERCISE_CHART, files, EXERCISE_RELEASE)
            for case, files in cases.items()
        }
        return {case: f.result() for case, f in futures.items()}


@pytest.fixture(scope="session")
def all_renders(
    control_renders: dict[str, Manifests], exercise_renders: dict[str, Manifests]
) -> dict[str, Manifests]:
    out = {f"control/{k}": v for k, v in control_renders.items()}
    out.update({f"exercise/{k}": v for k, v in exercise_renders.items()})
    return out
