"""The synthetic family end to end: a synthetic target deploys no Target service, the attack
service on loopback gets only the release, and the report carries every attack's risk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from leakrange.artifacts import FolderStore
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from tests.fixtures.inprocess_backend import InProcessBackend

FAST = RunnerSettings(report_bootstrap=10, headline_bootstrap=10, check_interval=0.2)
ATTACKS = ["singling-out", "linkability", "attribute-inference", "inpainting", "dcr", "domias"]


def exercise(generator: dict, original: int = 600, targets: int = 150) -> str:
    return yaml.safe_dump({
        "name": "synthetic-test", "seed": 0,
        "target": {"synthetic": {"dataset": "adult", "original": original, "control": 300,
                                 "reference": 300, "targets": targets, "secret": "income",
                                 "generator": generator}},
        "threat_model": {"access": {"white_box": False, "output": "label"}},
        "adversaries": [{"family": "synthetic", "name": "a",
                         "attacks": [{"name": n} for n in ATTACKS]}],
    })


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


@pytest.fixture
def orchestrator(store: FolderStore, tmp_path: Path) -> Iterator[Orchestrator]:
    o = Orchestrator(store, InProcessBackend(store), tmp_path / "data",  # type: ignore[arg-type]
                     concurrency=1, runner_settings=FAST).start()
    yield o
    o.shutdown(10)


def _risks(orchestrator: Orchestrator, spec: str) -> dict[str, dict]:
    record = orchestrator.submit(spec)
    final = orchestrator.wait(record.id, timeout=300)
    assert final.state == ExerciseState.SUCCEEDED, final.message
    report = json.loads(orchestrator.report(record.id, "json")[0])
    generator = yaml.safe_load(spec)["target"]["synthetic"]["generator"]["name"]
    assert report["target"]["model_kind"] == f"synthetic release ({generator})"
    out = {}
    for a in report["attacks"]:
        assert a["status"] == "succeeded", a["message"]
        out[a["attack"]] = a
    html = orchestrator.report(record.id, "html")[0].decode()
    assert "Utility of the release" in html and "Residual risk" in html
    return out


def test_leaky_release_flags_every_attack(orchestrator) -> None:
    risks = _risks(orchestrator, exercise({"name": "copy-with-noise"}))
    for name in ("linkability", "attribute-inference"):
        assert risks[name]["findings"]["risk"]["ci_low"] > 0.05, (name, risks[name]["findings"])
    # Singling out compares equal-size tables (600 originals in 300-row chunks): the noisy copy
    # singles out less clearly than an exact one, but its interval still excludes zero.
    assert risks["singling-out"]["findings"]["risk"]["ci_low"] > 0.0, risks["singling-out"]
    for name in ("dcr", "domias"):
        assert risks[name]["metrics"]["auc"]["ci_low"] > 0.6, (name, risks[name]["metrics"])



def test_bring_your_own_files_are_imported_and_only_the_release_reaches_the_adversary(
        store) -> None:
    """The example's CSV files (examples/data/; `leakrange run` runs the example itself):
    imported into the store by content hash, the adversary's view carries the synthetic table
    and the reference records, never an original or control row."""
    import numpy as np

    from leakrange.orchestrator.spec_loading import load_spec, localise_spec_file
    from leakrange.orchestrator.target_kinds import PrepareContext, resolve

    example = Path(__file__).resolve().parents[2] / "examples" / "bring-your-own-synthetic.yaml"
    spec = load_spec(localise_spec_file(example))
    kind, part = resolve(spec.target)
    release = kind.prepare(part, PrepareContext(store, None))  # type: ignore[arg-type]
    truth = release.truth
    assert (len(truth.original), len(truth.control), len(truth.synthetic)) == (400, 200, 400)
    assert truth.columns.names[truth.secret] == "income"
    names = store.list_manifests("cache/synthetic/files-")
    assert len(names) == 1
    manifest = store.get_manifest(names[0])
    assert manifest["missing_cells"]["hours_per_week"] == 3
    from leakrange.synthetic.table import table_bytes

    tables = {"original": truth.original, "synthetic": truth.synthetic,
              "control": truth.control, "reference": release.reference}
    for role, table in tables.items():  # stored under the content hash of the encoded table
        assert manifest[role] == "sha256:" + hashlib.sha256(table_bytes(table)).hexdigest()
    wire = release.adversary_view(spec, None).data.SerializeToString()  # type: ignore[arg-type]
    released = {r.tobytes() for r in np.concatenate([truth.synthetic, release.reference])}
    checked = 0
    for table in (truth.original, truth.control):  # 8 coarse columns: some rows recur by chance
        for row in np.ascontiguousarray(table, "<f8"):
            if row.tobytes() not in released:
                assert row.tobytes() not in wire
                checked += 1
    assert checked > 500
    assert np.ascontiguousarray(truth.synthetic, "<f8").tobytes() in wire
