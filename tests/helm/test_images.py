"""Static checks of the Dockerfiles (no Docker engine here): layer order, user, and that the
images are the ones the charts expect."""

from __future__ import annotations

import re

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
    assert "FROM ${BASE_IMAGE}" in lines
    assert len([ln for ln in lines if not ln.startswith("#")]) <= 8
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
