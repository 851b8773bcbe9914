"""The orchestrator prepares a ``target.federated`` exercise through its backend's federation host
(the Kubernetes range's pods) when the backend has one, and a failure there fails the exercise
with the host's reason. The backend here is a stand-in whose host records the job it was given
(the real host is tested against kmock in test_kubernetes_federation.py); the orchestrator, its
runner, the target kind and the store are the real ones."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from leakrange.artifacts import ArtifactStore, FolderStore
from leakrange.common.errors import FailedPrecondition
from leakrange.orchestrator.backend import Deployment, RangeBackend, TargetDeploySpec
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseState
from leakrange.orchestrator.target_kinds.federated_host import FederationJob, HostedOutcome

REASON = "supernode 1 terminated (exit code 137) during round 1 of 1; finished rounds kept: none"


class RecordingHost:
    def __init__(self) -> None:
        self.jobs: list[FederationJob] = []

    def run_federation(self, job: FederationJob, store: ArtifactStore, **_: Any
                       ) -> HostedOutcome:
        self.jobs.append(job)
        raise FailedPrecondition(REASON)


class HostingBackend(RangeBackend):
    name = "hosting"

    def __init__(self) -> None:
        self.host = RecordingHost()
        self.asked: list[str] = []
        self.deployed: list[str] = []

    def federation_host(self, exercise_id: str) -> RecordingHost:  # type: ignore[override]
        self.asked.append(exercise_id)
        return self.host

    def deploy(self, exercise_id: str, target: TargetDeploySpec | None, families: Sequence[str],
               tokens: Mapping[str, str]) -> Deployment:
        self.deployed.append(exercise_id)
        raise AssertionError("a failed federation deploys nothing")

    def check(self, deployment: Deployment) -> str | None:
        return None

    def teardown(self, exercise_id: str) -> None:
        return None

    def cleanup_orphans(self) -> list[str]:
        return []

    def close(self) -> None:
        return None


SPEC = yaml.safe_dump({
    "name": "fl-on-the-backend",
    "target": {"federated": {"dataset": "digits", "clients": 2, "records_per_client": 1,
                             "rounds": 1, "holdout": 10, "model": "mlp-small",
                             "split_seed": 12345, "adversary": {"role": "honest_server"}}},
    "adversaries": [{"family": "federated", "attacks": [{"name": "idlg"}]}],
})


def test_a_federated_target_is_prepared_through_the_backends_host(tmp_path: Path) -> None:
    backend = HostingBackend()
    orchestrator = Orchestrator(FolderStore(tmp_path / "store"), backend, tmp_path / "db",
                                concurrency=1).start()
    try:
        record = orchestrator.submit(SPEC)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            record = orchestrator.db.get(record.id)
            if record.state not in (ExerciseState.QUEUED, ExerciseState.RUNNING):
                break
            time.sleep(0.1)
    finally:
        orchestrator.shutdown(grace=5)
    assert record.state == ExerciseState.FAILED
    assert record.message == REASON
    assert backend.asked == [record.id] and backend.deployed == []
    [job] = backend.host.jobs
    assert job.settings.clients == 2 and job.settings.record_updates
    assert not job.settings.out_dir  # nothing local: the host's ServerApp writes to the store
    assert [len(y) for _, y in job.partitions] == [1, 1]
    assert job.crafted is None and job.holdout is None  # honest server, no eval_every
