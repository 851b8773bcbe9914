"""A running attack fans its reference models out through the orchestrator (issue 16).

The attack service (real gRPC on loopback, in this process) has no Kubernetes API access: it
writes its task to the store, emits a ``ReferenceFanoutRequest`` on its Run stream and waits.
The orchestrator's real runner asks the backend for the fan-out, runs the Indexed Job in a
worker thread and answers with ``CompleteReferenceFanout``; the attack resumes and trains
whatever did not come back.

The backend: the target and attack services run in this process (``InProcessBackend``), and the
same exercise is also deployed by a real ``KubernetesBackend`` against kmock
(tests/fixtures/kmock_server.py: the API server emulated in memory, the chart rendered by the
real helm, the exercise pods played ready). Its defaults are the control-plane chart's own
``exercise-values.yaml`` rendered with ``orchestrator.exercise.referenceTraining.enabled``, so
its ``reference_fanout`` is what a cluster's orchestrator gets. The only change to those
defaults: ``store.adversaryUrl`` names this test's folder store (``file://``), which the
in-process attack service uses too. kmock runs no controllers, so ``ShardPods`` plays the Job
controller and the kubelet: for each completion index of the Job the backend created, it runs
the pod's command (``leakrange reference-shard``'s function, with the Job's own ``--task`` and
``--store`` arguments) and patches the Job's status as the controller does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes import client

from leakrange.artifacts import FolderStore
from leakrange.cli.reference_shard import reference_shard
from leakrange.orchestrator.backend import Deployment, TargetDeploySpec
from leakrange.orchestrator.kubernetes import ExerciseCluster, HelmRunner, KubernetesBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.records import ExerciseRecord, ExerciseState
from leakrange.orchestrator.runner import RunnerSettings
from tests.e2e.range_helpers import small_spec
from tests.fixtures.inprocess_backend import InProcessBackend
from tests.fixtures.kmock_server import (  # noqa: F401 - kube_emulator_with_jobs: fixture
    CONTROL_CHART,
    EXERCISE_CHART,
    ChartRecorder,
    KubeEmulator,
    kube_emulator_with_jobs,
)
from tests.integration.test_kubernetes_backend import (  # noqa: F401 - fixtures
    control_defaults,
    core,
    deploy_ready,
    helm_binary,
    namespace,
    recorder,
)

FAST = RunnerSettings(report_bootstrap=10, headline_bootstrap=10, check_interval=0.2)
WAIT_S = 120.0
# 65 reference models: two shards (64 + 1), so two completion indexes.
SPEC = small_spec(name="fanout", attacks="      - {name: lira, params: "
                  "{reference_models: 65, epochs: 1}}\n", extra="report: {html: false}\n")


class ShardPods:
    """Plays the Job controller and kubelet for every Job created in ``namespace``.

    ``broken``: indexes whose pods always fail (the index fails after its retries); ``hang``:
    the pods never finish (the Job stays active until it is deleted)."""

    def __init__(self, batch: client.BatchV1Api, ns: str, *,
                 broken: frozenset[int] = frozenset(), hang: bool = False) -> None:
        self.batch, self.namespace, self.broken, self.hang = batch, ns, broken, hang
        self.jobs: list[dict[str, Any]] = []
        self.trained: list[int] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ShardPods:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)
        if self.error is not None:
            raise self.error

    def wait_for_job(self) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while not self.jobs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.jobs, "no Job was created"
        return self.jobs[0]

    def _run(self) -> None:
        try:
            seen: set[str] = set()
            while not self._stop.wait(0.05):
                for job in self.batch.list_namespaced_job(self.namespace).items:
                    if job.metadata.name not in seen:
                        seen.add(job.metadata.name)
                        self._play(self.batch.api_client.sanitize_for_serialization(job))
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            self.error = err

    def _play(self, job: dict[str, Any]) -> None:
        self.jobs.append(job)
        if self.hang:
            return
        spec = job["spec"]
        args = spec["template"]["spec"]["containers"][0]["args"]
        assert args[0] == "reference-shard"
        task, store = args[args.index("--task") + 1], args[args.index("--store") + 1]
        completed, failed = [], []
        for index in range(spec["completions"]):
            if index in self.broken:
                failed.append(index)  # every pod of the index failed: backoffLimitPerIndex
                continue
            reference_shard(task=task, index=index, store=store)  # the pod's command
            self.trained.append(index)
            completed.append(index)
        self.batch.patch_namespaced_job_status(job["metadata"]["name"], self.namespace, {
            "status": {"completedIndexes": ",".join(map(str, completed)),
                       "failedIndexes": ",".join(map(str, failed)) or None,
                       "succeeded": len(completed),
                       "conditions": [{"type": "Failed" if failed else "Complete",
                                       "status": "True"}]}})


class ClusterFanoutBackend(InProcessBackend):
    """Services in this process; each exercise also deployed by ``kube`` (on kmock), whose
    ``reference_fanout`` the runner gets."""

    name = "inprocess+kubernetes"

    def __init__(self, store: FolderStore, kube: KubernetesBackend, charts: ChartRecorder,
                 api: client.CoreV1Api) -> None:
        super().__init__(store)
        self.kube, self._recorder, self._core = kube, charts, api
        self._pool = ThreadPoolExecutor(max_workers=1)

    def deploy(self, exercise_id: str, target: TargetDeploySpec | None,
               families: Sequence[str], tokens: Mapping[str, str]) -> Deployment:
        deployment = super().deploy(exercise_id, target, families, tokens)
        deploy_ready(self._pool, self.kube, self._recorder, self._core, exercise_id,
                     list(families))
        return deployment

    def reference_fanout(self, exercise_id: str, should_stop: Any) -> Any:
        return self.kube.reference_fanout(exercise_id, should_stop)

    def teardown(self, exercise_id: str) -> None:
        super().teardown(exercise_id)
        self.kube.teardown(exercise_id)

    def close(self) -> None:
        super().close()
        self.kube.close()
        self._pool.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "store")


@pytest.fixture
def fanout_defaults(helm_binary: Path, tmp_path: Path, store: FolderStore) -> Path:  # noqa: F811
    """The control plane's exercise-values.yaml with reference training enabled."""
    enable = tmp_path / "enable.yaml"
    enable.write_text(yaml.safe_dump(
        {"orchestrator": {"exercise": {"referenceTraining": {"enabled": True}}}}))
    rendered = HelmRunner(helm_binary, "range").template(
        "range", CONTROL_CHART, [CONTROL_CHART / "ci" / "default-values.yaml", enable])
    config = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "ConfigMap"
                  and "exercise-values.yaml" in (d.get("data") or {}))
    values = yaml.safe_load(config["data"]["exercise-values.yaml"])
    assert values["referenceTraining"] == {"enabled": True}
    values["store"]["adversaryUrl"] = f"file://{store.root}"
    path = tmp_path / "exercise-values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture
def cluster_orchestrator(
    store: FolderStore, tmp_path: Path, kube_emulator: KubeEmulator, namespace: str,  # noqa: F811
    recorder: ChartRecorder, core: client.CoreV1Api, fanout_defaults: Path,  # noqa: F811
) -> Iterator[Orchestrator]:
    kube = KubernetesBackend(ExerciseCluster(kube_emulator.api_client(), namespace), recorder,
                             EXERCISE_CHART, defaults_values=fanout_defaults,
                             deploy_timeout_s=WAIT_S, poll_interval_s=0.05,
                             unschedulable_grace_s=0.0)
    backend = ClusterFanoutBackend(store, kube, recorder, core)
    orchestrator = Orchestrator(store, backend, tmp_path / "data", concurrency=1,
                                runner_settings=FAST).start()
    yield orchestrator
    orchestrator.shutdown(10)


@pytest.fixture(scope="module")
def local_result(tmp_path_factory: pytest.TempPathFactory) -> ExerciseRecord:
    """The same exercise with every reference model trained in the attack service."""
    root = tmp_path_factory.mktemp("local")
    store = FolderStore(root / "store")
    orchestrator = Orchestrator(store, InProcessBackend(store), root / "data", concurrency=1,
                                runner_settings=FAST).start()
    try:
        record = orchestrator.wait(orchestrator.submit(SPEC).id, timeout=WAIT_S)
    finally:
        orchestrator.shutdown(10)
    assert record.state == ExerciseState.SUCCEEDED, record.message
    return record


def _facts(record: ExerciseRecord) -> dict[str, float]:
    return {m.name: m.value for m in record.attacks[0].facts}


def _logs(orchestrator: Orchestrator, exercise_id: str) -> list[str]:
    return [e.log for e in orchestrator.watch(exercise_id) if e.log]


def test_a_running_attack_fans_its_references_out_as_an_indexed_job_with_the_local_result(
    cluster_orchestrator: Orchestrator, kube_emulator: KubeEmulator, namespace: str,  # noqa: F811
    local_result: ExerciseRecord,
) -> None:
    batch = client.BatchV1Api(kube_emulator.api_client())
    with ShardPods(batch, namespace) as pods:
        submitted = cluster_orchestrator.submit(SPEC)
        record = cluster_orchestrator.wait(submitted.id, timeout=WAIT_S)
    assert record.state == ExerciseState.SUCCEEDED, record.message
    facts = _facts(record)
    assert facts["reference_shards_remote"] == 2.0 and facts["reference_shards_local"] == 0.0
    assert pods.trained == [0, 1]
    [job] = pods.jobs
    kubernetes_validate.validate(job, "1.35", strict=True)
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 2
    assert job["metadata"]["labels"]["leakrange.io/exercise"] == submitted.id
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert batch.list_namespaced_job(namespace).items == []  # deleted once it finished
    # Bit-identical to training every reference model in the attack service: the same scores
    # artifact (content-addressed), with no fan-out facts there.
    assert record.attacks[0].scores == local_result.attacks[0].scores
    assert "reference_shards_remote" not in _facts(local_result)
    logs = _logs(cluster_orchestrator, submitted.id)
    assert any("training 2 reference shards as Kubernetes Job pods" in line for line in logs)


def test_shards_of_a_failed_job_index_are_trained_by_the_attack_which_says_so(
    cluster_orchestrator: Orchestrator, kube_emulator: KubeEmulator, namespace: str,  # noqa: F811
    local_result: ExerciseRecord,
) -> None:
    batch = client.BatchV1Api(kube_emulator.api_client())
    with ShardPods(batch, namespace, broken=frozenset({1})) as pods:
        submitted = cluster_orchestrator.submit(SPEC)
        record = cluster_orchestrator.wait(submitted.id, timeout=WAIT_S)
    assert record.state == ExerciseState.SUCCEEDED, record.message
    facts = _facts(record)
    assert facts["reference_shards_remote"] == 1.0 and facts["reference_shards_local"] == 1.0
    assert pods.trained == [0]
    assert record.attacks[0].scores == local_result.attacks[0].scores
    logs = _logs(cluster_orchestrator, submitted.id)
    assert any("reference fan-out failed (1 shard pods failed after their retries" in line
               for line in logs)
    assert any("1 reference shards did not come back from the fan-out; training them here"
               in line for line in logs)


def test_cancelling_the_exercise_during_the_fan_out_deletes_the_job(
    cluster_orchestrator: Orchestrator, kube_emulator: KubeEmulator, namespace: str,  # noqa: F811
) -> None:
    batch = client.BatchV1Api(kube_emulator.api_client())
    with ShardPods(batch, namespace, hang=True) as pods:
        submitted = cluster_orchestrator.submit(SPEC)
        pods.wait_for_job()
        cluster_orchestrator.cancel(submitted.id)
        record = cluster_orchestrator.wait(submitted.id, timeout=WAIT_S)
    assert record.state == ExerciseState.CANCELLED
    assert pods.trained == []
    assert batch.list_namespaced_job(namespace).items == []


def test_without_reference_training_in_the_defaults_no_fan_out_is_offered(
    kube_emulator: KubeEmulator, namespace: str, recorder: ChartRecorder,  # noqa: F811
    control_defaults: Path,  # noqa: F811
) -> None:
    kube = KubernetesBackend(ExerciseCluster(kube_emulator.api_client(), namespace), recorder,
                             EXERCISE_CHART, defaults_values=control_defaults)
    assert kube.reference_fanout("ex-any", lambda: False) is None


def test_orphan_reference_jobs_of_a_killed_orchestrator_are_deleted_at_start_up(
    kube_emulator: KubeEmulator, namespace: str, recorder: ChartRecorder,  # noqa: F811
    control_defaults: Path,  # noqa: F811
) -> None:
    """A Job a previous orchestrator was following when it died is in no helm release: the
    next one's ``cleanup_orphans`` deletes it (and leaves other Jobs of the namespace alone)."""
    batch = client.BatchV1Api(kube_emulator.api_client())

    def job(name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"completionMode": "Indexed", "completions": 1, "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "leakrange/attack-mia"}]}}}}

    batch.create_namespaced_job(namespace, job("ex-ex-0123456789ab-refs-t0-aaaa", {
        "app.kubernetes.io/component": "reference-training",
        "leakrange.io/exercise": "ex-0123456789ab"}))
    batch.create_namespaced_job(namespace, job("someone-elses-job", {"app": "other"}))
    kube = KubernetesBackend(ExerciseCluster(kube_emulator.api_client(), namespace), recorder,
                             EXERCISE_CHART, defaults_values=control_defaults)
    assert kube.cleanup_orphans() == ["ex-0123456789ab"]
    assert [j.metadata.name for j in batch.list_namespaced_job(namespace).items] == [
        "someone-elses-job"]
