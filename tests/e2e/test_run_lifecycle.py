"""``leakrange run`` as users stop it: a bad ``--out`` before any work, SIGTERM tears the range
down and records the exercise as cancelled, and services die when their parent is SIGKILLed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakrange.cli.main import app
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.state import ExerciseDB
from tests.e2e.range_helpers import small_spec

pytestmark = pytest.mark.slow

SLOW = "      - {name: lira, params: {reference_models: 2, epochs: 80}}\n"


def _alive(pid: int) -> bool:
    try:
        state = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if x.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return not state.startswith("State:\tZ")


def _wait_dead(pids: list[int], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_bad_out_is_refused_before_any_work(tmp_path: Path, kind: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(small_spec())
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = blocker if kind == "file" else blocker / "sub"
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(out),
                                      "--store", str(tmp_path / "store"),
                                      "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert "--out:" in result.output
    assert not (tmp_path / "data").exists()  # nothing was started or recorded


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(small_spec(name="stopped", attacks=SLOW))
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "leakrange.cli.main", "run", str(spec),
         "--store", str(tmp_path / "store"), "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    pids_file = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and pids_file is None:
        found = list((data / "local-range").glob("*.json")) if (data / "local-range").is_dir() \
            else []
        pids_file = found[0] if found else None
        time.sleep(0.5)
    assert pids_file is not None, "the range never started"
    return proc, pids_file


def test_sigterm_tears_the_range_down(tmp_path: Path) -> None:
    proc, pids_file = _start_run(tmp_path)
    pids = json.loads(pids_file.read_text())["pids"]
    assert pids and all(_alive(p) for p in pids)
    proc.send_signal(signal.SIGTERM)
    proc.wait(120)
    assert proc.returncode != 0
    assert _wait_dead(pids), "services outlived leakrange run"
    records, _ = ExerciseDB.in_dir(tmp_path / "data").list_exercises()
    assert [r.state for r in records] == [ExerciseState.CANCELLED]


def test_services_die_with_a_killed_parent(tmp_path: Path) -> None:
    proc, pids_file = _start_run(tmp_path)
    pids = json.loads(pids_file.read_text())["pids"]
    assert pids and all(_alive(p) for p in pids)
    proc.kill()
    proc.wait(30)
    assert _wait_dead(pids), "services outlived their SIGKILLed parent"
