"""Wrong values stop rendering with a clear message, from the schema and from validateValues.

validateValues is checked with --skip-schema-validation too, so both layers are proven to hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import (
    CONTROL_CHART,
    CONTROL_RELEASE,
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    VALUES_DIR,
    helm_template,
)

SKIP_SCHEMA = ["--skip-schema-validation"]


def _fails(helm: Path, chart: Path, values: list[Path], extra: list[str], release: str) -> str:
    proc = helm_template(helm, chart, values, release, extra)
    assert proc.returncode != 0, "rendering should have failed"
    return proc.stderr


def test_both_stores_enabled_fails(helm_bin: Path) -> None:
    err = _fails(helm_bin, CONTROL_CHART, [VALUES_DIR / "control-both-stores.yaml"], [],
                 CONTROL_RELEASE)
    assert "exactly one of minio.enabled and externalS3.enabled must be true" in err


def test_no_store_enabled_fails(helm_bin: Path) -> None:
    err = _fails(helm_bin, CONTROL_CHART, [], ["--set", "minio.enabled=false"], CONTROL_RELEASE)
    assert "exactly one of minio.enabled and externalS3.enabled must be true" in err


def test_external_s3_needs_endpoint_secret_and_cidrs(helm_bin: Path) -> None:
    err = _fails(helm_bin, CONTROL_CHART, [],
                 ["--set", "minio.enabled=false", "--set", "externalS3.enabled=true"],
                 CONTROL_RELEASE)
    assert "externalS3.endpoint is required" in err
    assert "externalS3.existingSecret is required" in err
    assert "externalS3.cidrs is required when networkPolicy.enabled is true" in err


def test_unknown_top_level_key_is_refused_by_the_schema(helm_bin: Path) -> None:
    err = _fails(helm_bin, CONTROL_CHART, [], ["--set", "replicas=3"], CONTROL_RELEASE)
    assert "additional properties 'replicas' not allowed" in err


@pytest.mark.parametrize(
    ("values_file", "schema_says", "template_says"),
    [
        ("exercise-gpu-fraction.yaml", "/adversaries/0/gpu",
         "adversaries[0].gpu must be a non-negative integer"),
        ("exercise-gpu-word.yaml", "/adversaries/0/gpu",
         "adversaries[0].gpu must be a non-negative integer"),
        ("exercise-unknown-family.yaml", "/adversaries/1/family",
         "adversaries[1].family must be one of mia, inversion, federated, synthetic"),
    ],
    ids=["gpu-1.5", "gpu-two", "unknown-family"],
)
def test_bad_adversary_values_fail(
    helm_bin: Path, values_file: str, schema_says: str, template_says: str
) -> None:
    values = [EXERCISE_BASE, VALUES_DIR / values_file]
    assert schema_says in _fails(helm_bin, EXERCISE_CHART, values, [], EXERCISE_RELEASE)
    err = _fails(helm_bin, EXERCISE_CHART, values, SKIP_SCHEMA, EXERCISE_RELEASE)
    assert template_says in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "exercise.id=Adult_MIA"], "exercise.id is required: lower-case letters"),
        (["--set", "adversaries=null"], "adversaries must list at least one adversary"),
        (["--set", "adversaries[0].family=mia", "--set", "adversaries[1].family=mia",
          "--set-json", 'adversaries[1].resources={"requests":{"cpu":1,"memory":"1Gi"},'
                        '"limits":{"cpu":1,"memory":"1Gi"}}'],
         "adversaries[1].family is listed twice"),
        (["--set", "target.gpu=-1"], "target.gpu must be a non-negative integer"),
        (["--set", "target.model="], "target.model is required"),
        (["--set-json", "store.egress.podLabels=null"],
         "store.egress needs podLabels or cidrs when networkPolicy.enabled is true"),
    ],
    ids=["bad-id", "no-adversary", "duplicate-family", "negative-gpu", "no-model", "no-store"],
)
def test_validate_values_messages(helm_bin: Path, extra: list[str], message: str) -> None:
    err = _fails(helm_bin, EXERCISE_CHART, [EXERCISE_BASE], [*SKIP_SCHEMA, *extra],
                 EXERCISE_RELEASE)
    assert message in err


def test_whole_float_gpu_count_renders_as_integer(helm_bin: Path) -> None:
    proc = helm_template(helm_bin, EXERCISE_CHART, [EXERCISE_BASE], EXERCISE_RELEASE,
                         ["--set-json", "adversaries[0].gpu=2.0", *SKIP_SCHEMA])
    assert proc.returncode == 0, proc.stderr
    assert "nvidia.com/gpu: 2\n" in proc.stdout
