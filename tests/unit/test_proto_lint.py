"""The gRPC contracts pass buf's STANDARD and COMMENTS lint rules (buf.yaml, `make lint-protos`).

buf is a third-party tool (npm @bufbuild/buf) that `make` installs into .tools/; `make test`
runs `make check-protos` first, so it is always there under make. Run directly, the test fails
with the command to install it rather than skipping.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def test_buf_yaml_uses_standard_and_comment_rules() -> None:
    config = yaml.safe_load((ROOT / "buf.yaml").read_text())
    assert config["version"] == "v2"
    assert {"STANDARD", "COMMENTS"} <= set(config["lint"]["use"])
    assert "except" not in config["lint"], "scope exceptions to files with ignore_only"


def test_every_lint_exception_states_its_reason() -> None:
    lines = (ROOT / "buf.yaml").read_text().splitlines()
    in_ignore = False
    for i, line in enumerate(lines):
        if line.startswith("  ignore_only:"):
            in_ignore = True
            continue
        if in_ignore and re.match(r"^\S", line):
            break
        if in_ignore and re.match(r"^    [A-Z_]+:$", line):
            above = lines[i - 1].strip()
            assert above.startswith("#") or lines[i - 1].startswith("      - "), (
                f"buf.yaml: exception {line.strip()} has no reason comment")


def test_buf_lint_is_clean() -> None:
    if not BUF.exists():
        pytest.fail("buf is not installed: run `make buf` (npm install into .tools/)")
    result = subprocess.run([str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
