"""tools/install_helm.py: pinned checksums, idempotence, refusal on mismatch, safe member names."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from leakrange.common.errors import IntegrityError, InvalidArgument
from tests.helm.rendering import INSTALLER


def test_installed_helm_is_the_pinned_v4_1_4(installer: ModuleType, helm_bin: Path) -> None:
    pinned = {b.name: b for b in installer.PINNED}
    digest = hashlib.sha256(helm_bin.read_bytes()).hexdigest()
    assert digest == pinned["helm"].sha256
    proc = subprocess.run([str(helm_bin), "version", "--short"], capture_output=True, text=True,
                          timeout=30, check=True)
    assert proc.stdout.startswith("v4.1.4")


def test_second_install_is_a_no_op(installer: ModuleType, helm_bin: Path) -> None:
    kubectl = helm_bin.parent / "kubectl"
    assert installer.is_installed(helm_bin.parent, installer.PINNED[1])
    before = (helm_bin.stat().st_mtime_ns, kubectl.stat().st_mtime_ns)
    lines = installer.install(helm_bin.parent)
    assert lines == ["helm v4.1.4: already installed", "kubectl v1.35.2: already installed"]
    assert (helm_bin.stat().st_mtime_ns, kubectl.stat().st_mtime_ns) == before


def test_checksum_mismatch_installs_nothing(installer: ModuleType, tmp_path: Path) -> None:
    wrong = dataclasses.replace(installer.PINNED[0], sha256="0" * 64)
    with pytest.raises(IntegrityError, match="sha256 differs from the pinned value"):
        installer.install(tmp_path, pinned=(wrong,))
    assert list(tmp_path.iterdir()) == []


def test_wrong_binary_in_place_is_replaced_by_the_cli(tmp_path: Path) -> None:
    bogus = tmp_path / "helm"
    bogus.write_bytes(b"#!/bin/sh\necho not helm\n")
    bogus.chmod(0o755)
    # A wrong binary in place is not "installed": the script replaces it with the pinned one.
    proc = subprocess.run(
        [sys.executable, str(INSTALLER), "--dest", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "helm v4.1.4: installed" in proc.stdout
    assert bogus.read_bytes()[:4] == b"\x7fELF"


@pytest.mark.parametrize(
    "name", ["../helm", "/usr/bin/helm", "helm/../../x", "C:/helm", "a\\..\\..\\b"]
)
def test_unsafe_member_names_are_refused(installer: ModuleType, name: str) -> None:
    with pytest.raises(InvalidArgument, match="unsafe path"):
        installer.check_member_name(name)


@pytest.mark.parametrize("name", ["helm/helm", "kubectl/kubectl", "package/lib/layer.zip"])
def test_ordinary_member_names_pass(installer: ModuleType, name: str) -> None:
    installer.check_member_name(name)
