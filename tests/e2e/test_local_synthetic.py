"""A synthetic exercise with the real LocalBackend (attack services as child processes): the
adversary store never holds the original or control tables, checked at the byte level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from leakrange.artifacts import FolderStore
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.synthetic import SyntheticKind, SyntheticSpec

SYNTHETIC = {"dataset": "adult", "original": 600, "control": 300, "reference": 300,
             "targets": 150, "secret": "income", "generator": {"name": "copy-with-noise"}}


def _spec() -> str:
    return yaml.safe_dump({
        "name": "synthetic-local", "seed": 0, "target": {"synthetic": SYNTHETIC},
        "threat_model": {"access": {"white_box": False, "output": "label"}},
        "adversaries": [{"family": "synthetic", "name": "a",
                         "attacks": [{"name": "attribute-inference"}, {"name": "dcr"}]}],
    })


def _files(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]


def _rows(table: np.ndarray, n: int = 100) -> list[bytes]:
    return [np.ascontiguousarray(row, "<f8").tobytes() for row in table[:n]]


def test_adversary_store_never_holds_the_original_or_control_tables(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "store")
    backend = LocalBackend(str(tmp_path / "store"), tmp_path / "data")
    orchestrator = Orchestrator(
        store, backend, tmp_path / "data", concurrency=1,
        runner_settings=RunnerSettings(report_bootstrap=10, headline_bootstrap=10),
    ).start()
    try:
        final = orchestrator.wait(orchestrator.submit(_spec()).id, timeout=300)
        assert final.state == ExerciseState.SUCCEEDED, final.message
    finally:
        orchestrator.shutdown(5)
    # The same split, prepared again from the range's store (the synthetic table is cached).
    release = SyntheticKind.prepare(SyntheticSpec.model_validate(SYNTHETIC),
                                    PrepareContext(store=store, datasets=None))  # type: ignore[arg-type]
    original, control = release.truth.original, release.truth.control
    range_files = b"\0".join(_files(tmp_path / "store"))
    assert all(row in range_files for row in _rows(original))  # the check can see them
    adversary_root = Path(backend.adversary_store_url)
    assert adversary_root.is_dir()
    for blob in _files(adversary_root):
        for row in (*_rows(original), *_rows(control)):
            assert row not in blob
