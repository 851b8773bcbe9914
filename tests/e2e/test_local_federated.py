"""Federated targets on Flower's real deployment engine: a SuperLink and one SuperNode per
client as separate processes on loopback (from .venv-federated, built by ``make setup``).

One exercise (curious server, FedSGD, 2 clients, 1 round) runs end to end through the
orchestrator and the LocalBackend; a second federation (curious client, 2 rounds) is cut by
killing a SuperNode after round 1. Each Flower run costs about a minute of CPU here, so each
runs once and several assertions share it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from leakrange.artifacts import FolderStore
from leakrange.common.errors import FailedPrecondition
from leakrange.datasets import load_dataset
from leakrange.federation.flower_env import find_flower_env
from leakrange.federation.launcher import Federation
from leakrange.federation.observation_files import finished_rounds
from leakrange.federation.settings import FederationSettings
from leakrange.models import zoo_spec
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.federated import FederatedSpec
from leakrange.orchestrator.target_kinds.federated_prepare import split

FEDERATED = {"framework": "flower", "dataset": "digits", "clients": 2, "records_per_client": 1,
             "batch_size": 1, "local_epochs": 1, "rounds": 1, "lr": 0.1, "model": "mlp-small",
             "eval_every": 1, "adversary": {"role": "honest_server"}}


@pytest.fixture(scope="module")
def server_exercise(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("federated")
    store = FolderStore(root / "store")
    backend = LocalBackend(str(root / "store"), root / "data")
    orchestrator = Orchestrator(
        store, backend, root / "data", concurrency=1,
        runner_settings=RunnerSettings(report_bootstrap=20, headline_bootstrap=20),
    ).start()
    spec = yaml.safe_dump({
        "name": "federated-local", "seed": 0, "target": {"federated": FEDERATED},
        "adversaries": [{"family": "federated", "name": "server", "attacks": [
            {"name": "idlg", "params": {"iterations": 60, "restarts": 1}}]}],
    })
    try:
        final = orchestrator.wait(orchestrator.submit(spec).id, timeout=600)
        report = json.loads(store.get_bytes(final.report_json)) if final.report_json else {}
    finally:
        orchestrator.shutdown(5)
    return {"final": final, "report": report, "root": root, "store": store,
            "adversary_root": Path(backend.adversary_store_url)}


def test_a_curious_server_rebuilds_fedsgd_records_on_a_real_federation(server_exercise) -> None:
    final = server_exercise["final"]
    assert final.state == ExerciseState.SUCCEEDED, final.message
    (attack,) = server_exercise["report"]["attacks"]
    assert attack["status"] == "succeeded", attack["message"]
    f = attack["findings"]
    assert f["label_accuracy"]["value"] == 1.0
    assert f["median_psnr"]["value"] > 30.0
    assert f["setting"]["fedsgd"] and f["setting"]["clients"] == 2
    assert "FedSGD" in server_exercise["report"]["overall"]["summary"]


def test_the_range_evaluates_the_global_model_on_the_holdout(server_exercise) -> None:
    """``eval_every: 1``: the ServerApp's evaluate_fn scored the round's global model on the
    200 holdout records, and the report says so (and names the FL role, not a model API)."""
    report = server_exercise["report"]
    target = report["target"]
    (evaluation,) = target["federation"]["evaluation"]
    assert evaluation["round"] == 1 and evaluation["records"] == 200
    assert 0.0 <= evaluation["accuracy"] <= 1.0 and evaluation["loss"] > 0
    assert target["test_accuracy"] == evaluation["accuracy"] and target["test_size"] == 200
    assert "federation's server" in report["threat_model"]["description"]


def test_the_adversary_store_never_holds_a_partition(server_exercise) -> None:
    data = load_dataset("digits")
    parts, _ = split(FederatedSpec.model_validate(FEDERATED), data)
    records = [np.ascontiguousarray(data.x[r], "<f4").tobytes() for p in parts for r in p]
    range_files = b"\0".join(p.read_bytes() for p in server_exercise["root"].rglob("*")
                             if p.is_file() and "adversary-store" not in p.parts)
    assert any(r in range_files for r in records)  # the check can see them
    adversary_root = server_exercise["adversary_root"]
    for path in adversary_root.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(r in blob for r in records), path


def test_a_second_run_reuses_the_recorded_federation(server_exercise) -> None:
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.target_kinds.federated import FederatedKind

    store = server_exercise["store"]
    started = time.monotonic()
    run = FederatedKind.prepare(FederatedSpec.model_validate(FEDERATED),
                                PrepareContext(store, DatasetCache(store=store)))
    assert time.monotonic() - started < 30  # no federation was started: it came from the store
    assert run.facts["rounds_finished"] == [1]
    assert sorted({n.split(".")[2] for n in run.observation if n.startswith("fl.update")}) \
        == ["r1"]


def test_killing_a_supernode_mid_run_fails_with_a_reason_and_keeps_finished_rounds(
        tmp_path: Path) -> None:
    data = load_dataset("digits")
    spec = zoo_spec("mlp-small", data.input_shape, data.num_classes)
    settings = FederationSettings(
        clients=2, rounds=2, local_epochs=1, batch_size=4, lr=0.1, seed=0,
        model_spec=json.loads(spec.model_dump_json()), out_dir=str(tmp_path / "out"))
    fed = Federation(find_flower_env(), tmp_path, settings,
                     [(data.x[:4], data.y[:4]), (data.x[4:8], data.y[4:8])], observer=0)
    killed: dict[str, bool] = {}

    def kill_after_round_one() -> None:
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline and not finished_rounds(tmp_path / "out"):
            time.sleep(0.2)
        if fed.supernodes:
            os.killpg(fed.supernodes[1].proc.pid, signal.SIGKILL)
            killed["yes"] = True

    threading.Thread(target=kill_after_round_one, daemon=True).start()
    with pytest.raises(FailedPrecondition) as err:
        fed.run(timeout=550)
    assert killed
    assert "supernode 1 exited" in str(err.value) and "round 2 of 2" in str(err.value)
    assert finished_rounds(tmp_path / "out") == [1]
    # What the curious client's node kept is what it received: the global models, nothing else.
    seen = sorted(str(p.relative_to(fed.observe_dir)) for p in fed.observe_dir.rglob("*")
                  if p.is_file())
    assert seen in (["round-1/global.safetensors"],
                    ["round-1/global.safetensors", "round-2/global.safetensors"])
    for proc in [*fed.supernodes]:
        assert proc.exit_code() is not None


def test_the_flower_environment_runs_the_apps_without_the_protobuf_7_stubs() -> None:
    """Flower 1.42 needs protobuf<7: its environment must never load leakrange.v1."""
    import subprocess

    python = find_flower_env().tool("python")
    code = ("import sys, google.protobuf as pb; "
            "import leakrange.federation.server_app, leakrange.federation.client_app; "
            # The Kubernetes range's pieces run there too: the store writer, the run Job.
            "import leakrange.federation.observation_store, leakrange.federation.submit_run; "
            "import leakrange.federation.fetch_partition; "
            "assert not [m for m in sys.modules if m.startswith('leakrange.v1')]; "
            "print(pb.__version__)")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300,
                         check=True)
    assert out.stdout.strip().startswith("6.")
