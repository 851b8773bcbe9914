"""End to end on the local range: real processes (orchestrator, target, attack service) and
gRPC on loopback. Restart, a dying adversary, auth, the report."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.errors import InvalidArgument, Unauthenticated
from leakrange.orchestrator.client import OrchestratorClient
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.v1 import orchestrator_pb2 as pb
from tests.e2e.range_helpers import OrchestratorProcess, small_spec

pytestmark = pytest.mark.slow  # real processes: about 40 s on an idle 2-core machine

TOKEN = "test-token-7f3a"
SLOW_LIRA = "      - {name: lira, params: {reference_models: 2, epochs: 80}}\n"


def _alive(pid: int) -> bool:
    """Running (a zombie, killed but not yet reaped by init, counts as gone)."""
    state = _status(pid)
    return state != "gone" and not state.startswith("State:\tZ")


def _status(pid: int) -> str:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        return next(x for x in lines if x.startswith("State:"))
    except OSError:
        return "gone"


def _watch_until(client: OrchestratorClient, eid: str, phase: str) -> list[pb.ExerciseEvent]:
    """Events until a progress event of ``phase`` (the exercise is then mid-attack)."""
    seen = []
    for event in client.watch(eid):
        seen.append(event)
        if event.WhichOneof("event") == "progress" and event.progress.phase == phase:
            return seen
    raise AssertionError(f"exercise ended before phase {phase}")


def test_served_orchestrator_auth_report_restart_and_resume(tmp_path: Path) -> None:
    store, data = tmp_path / "store", tmp_path / "data"
    server = OrchestratorProcess(store, data, token=TOKEN)
    try:
        with OrchestratorClient(server.address) as anonymous, pytest.raises(Unauthenticated):
            anonymous.list()
        with OrchestratorClient(server.address, "wrong-token") as wrong, \
                pytest.raises(Unauthenticated):
            wrong.submit(small_spec())
        client = OrchestratorClient(server.address, TOKEN)
        with pytest.raises(InvalidArgument) as bad:
            client.submit(small_spec(attacks="      - {name: loss, params: {bogus: 1}}\n"))
        assert "adversaries[0].attacks[0].params.bogus: unknown key" in str(bad.value)

        done = client.submit(small_spec(name="first", attacks="      - {name: loss}\n"
                                        "      - {name: population}\n"))
        events = list(client.watch(done.id))
        kinds = [e.WhichOneof("event") for e in events]
        assert events[-1].state == pb.EXERCISE_STATE_SUCCEEDED
        finished = [e.attack_finished for e in events if e.HasField("attack_finished")]
        assert [a.attack for a in finished] == ["loss", "population"]
        assert "progress" in kinds
        report = client.report(done.id, "json")
        doc = json.loads(report.content)
        assert doc["exercise"]["id"] == done.id
        assert doc["target"]["n_members"] == 300 and doc["target"]["n_nonmembers"] == 300
        assert [a["status"] for a in doc["attacks"]] == ["succeeded", "succeeded"]
        html = client.report(done.id, "html")
        assert html.content_type == "text/html" and b"<html" in html.content.lower()
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
        assert 'leakrange_exercises{state="succeeded"} 1.0' in metrics
        assert 'leakrange_attacks_total{family="mia",outcome="succeeded"} 2.0' in metrics

        # Kill the orchestrator while an exercise is mid-attack.
        victim = client.submit(small_spec(name="victim", attacks="      - {name: loss}\n"
                                          + SLOW_LIRA))
        _watch_until(client, victim.id, "reference_training")
        pids = json.loads((data / "local-range" / f"{victim.id}.json").read_text())["pids"]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        client.close()
        server.kill()
    except BaseException:
        server.kill()
        raise

    server = OrchestratorProcess(store, data, token=TOKEN)
    try:
        client = OrchestratorClient(server.address, TOKEN)
        kept = client.get(done.id)
        assert kept.state == pb.EXERCISE_STATE_SUCCEEDED
        assert kept.report_json.sha256 and [a.attack for a in kept.attacks] == \
            ["loss", "population"]
        interrupted = client.get(victim.id)
        assert interrupted.state == pb.EXERCISE_STATE_INTERRUPTED
        assert [(a.attack, a.status) for a in interrupted.attacks] == [("loss", "succeeded")]
        # orphans of the killed orchestrator were removed
        assert not any(_alive(p) for p in pids), [_status(p) for p in pids]
        loss_before = {m.name: m.value for m in interrupted.attacks[0].metrics}

        resumed = client.resume(victim.id)
        assert resumed.state == pb.EXERCISE_STATE_QUEUED
        events = list(client.watch(victim.id))
        assert events[-1].state == pb.EXERCISE_STATE_SUCCEEDED
        rerun = [e.attack_finished.attack for e in events if e.HasField("attack_finished")]
        assert rerun == ["lira"]  # the finished attack is reused, not run again
        final = client.get(victim.id)
        assert [(a.attack, a.status) for a in final.attacks] == \
            [("loss", "succeeded"), ("lira", "succeeded")]
        assert {m.name: m.value for m in final.attacks[0].metrics} == loss_before
        assert json.loads(client.report(victim.id).content)["attacks"][1]["attack"] == "lira"
        listed = client.list([pb.EXERCISE_STATE_SUCCEEDED])
        assert sorted(e.id for e in listed.exercises) == sorted([done.id, victim.id])
        client.close()
    finally:
        server.stop()


def test_killed_adversary_fails_its_exercise_and_the_orchestrator_keeps_serving(
    tmp_path: Path,
) -> None:
    store = FolderStore(tmp_path / "store")
    backend = LocalBackend(str(tmp_path / "store"), tmp_path / "data")
    orchestrator = Orchestrator(
        store, backend, tmp_path / "data", concurrency=1,
        runner_settings=RunnerSettings(report_bootstrap=10, headline_bootstrap=10,
                                       check_interval=0.2),
    ).start()
    try:
        record = orchestrator.submit(small_spec(name="doomed", attacks=SLOW_LIRA))
        for event in orchestrator.watch(record.id):
            if event.progress is not None and event.progress.phase == "reference_training":
                break
        attack_pid = backend.processes(record.id)["attack-mia"]
        target_pid = backend.processes(record.id)["target"]
        os.kill(attack_pid, signal.SIGKILL)
        final = orchestrator.wait(record.id, timeout=120)
        assert final.state == ExerciseState.FAILED
        assert final.message == "attack-mia process exited (code -9)"
        assert backend.processes(record.id) == {}
        deadline = time.monotonic() + 30
        while _alive(target_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(target_pid)  # the rest of the exercise was torn down

        after = orchestrator.submit(small_spec(name="after"))
        assert orchestrator.wait(after.id, timeout=120).state == ExerciseState.SUCCEEDED
    finally:
        orchestrator.shutdown(10)


def test_adversary_store_holds_no_ground_truth_and_weights_only_white_box(
    tmp_path: Path,
) -> None:
    """Attack processes get their own store: no split, no orchestrator caches; the target's
    weights appear there only under a white-box policy (what GetWeights points to)."""
    store = FolderStore(tmp_path / "store")
    backend = LocalBackend(str(tmp_path / "store"), tmp_path / "data")
    orchestrator = Orchestrator(
        store, backend, tmp_path / "data", concurrency=1,
        runner_settings=RunnerSettings(report_bootstrap=10, headline_bootstrap=10),
    ).start()
    white_box = small_spec(name="white").replace(
        "access: {output: probabilities,", "access: {white_box: true, output: probabilities,")
    try:
        black = orchestrator.wait(orchestrator.submit(small_spec(name="black")).id, timeout=240)
        assert black.state == ExerciseState.SUCCEEDED
        adversary = FolderStore(Path(backend.adversary_store_url))
        model_sha = store.list_manifests("groundtruth/")[0].split("/")[-1]
        assert store.exists(model_sha)
        assert not adversary.exists(model_sha)  # black-box: no weights
        white = orchestrator.wait(orchestrator.submit(white_box).id, timeout=240)
        assert white.state == ExerciseState.SUCCEEDED
        assert adversary.exists(model_sha)  # white-box: exactly the weights blob
        assert adversary.list_manifests("groundtruth/") == []
        assert adversary.list_manifests("cache/targets/") == []
        assert store.list_manifests("groundtruth/")  # the range still has its ground truth
    finally:
        orchestrator.shutdown(5)
