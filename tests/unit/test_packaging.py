"""Packaging and CLI conventions: version, help, flags, dependency bounds, LICENSE, protos."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import google.protobuf
import grpc
from packaging.requirements import Requirement
from typer.testing import CliRunner

from leakrange.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "services" / "leakrange" / "v1"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_and_short_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"leakrange {version('leakpro-range')}"
    for args in (["-h"], ["serve", "-h"], ["serve", "target", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert "Usage:" in result.output


def test_boolean_flags_show_and_parse_as_flags() -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["serve", "target", "-h"], terminal_width=200).output
    flag_line = next(line for line in help_text.splitlines() if "--white-box" in line)
    assert "--black-box" in flag_line
    assert "<bool>" not in flag_line
    result = runner.invoke(app, ["serve", "target", "--model", "x", "--white-box", "yes"])
    assert result.exit_code == 2  # a flag takes no value: "yes" is an unexpected argument


def test_runtime_dependencies_have_the_bounds_the_generated_code_needs() -> None:
    deps = {Requirement(d).name: Requirement(d) for d in _pyproject()["project"]["dependencies"]}
    text = (GENERATED / "target_pb2.py").read_text()
    gencode = text.split("Domain.PUBLIC,")[1].split(",")[:3]
    protobuf_floor = ".".join(part.strip() for part in gencode)
    grpc_floor = (GENERATED / "target_pb2_grpc.py").read_text().split(
        "GRPC_GENERATED_VERSION = '")[1].split("'")[0]
    assert deps["protobuf"].specifier.contains(protobuf_floor)
    assert not deps["protobuf"].specifier.contains(
        ".".join([gencode[0].strip(), str(int(gencode[1]) - 1), "0"]))
    for name in ("grpcio", "grpcio-health-checking", "grpcio-reflection"):
        assert deps[name].specifier.contains(grpc_floor), name
        assert not deps[name].specifier.contains("1.60.0"), name
        assert not deps[name].specifier.contains("2.0.0"), name
    assert deps["protobuf"].specifier.contains(google.protobuf.__version__)
    assert deps["grpcio"].specifier.contains(grpc.__version__)


def test_license_and_project_metadata() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])


def test_wheel_carries_the_protos_and_the_license(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("leakpro_range-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    protos = {Path(n).name for n in names if n.endswith(".proto")}
    assert protos == {p.name for p in (ROOT / "protos" / "leakrange" / "v1").glob("*.proto")}
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
