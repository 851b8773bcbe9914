"""Reference training fanned out as Kubernetes Indexed Jobs, against the emulated API server.

kmock (tests/fixtures/kmock_server.py) plays the API server: the backend's client creates the
Job and its NetworkPolicy there, reads the Job's status and deletes it. kmock runs no
controllers, so this test plays the Job controller and the kubelet: it reads the Job the backend
created (validated against the Kubernetes 1.35 schemas), runs each completion index's pod work
the way the pod's command would (``train_task_shard`` with the task and store of the Job's
arguments), makes one pod fail and retries its index (``backoffLimitPerIndex``), and patches the
Job's status (``completedIndexes``, ``failedIndexes``, conditions) as the controller does. The
chart objects are rendered by the real helm from the exercise's own release values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kubernetes_validate
import numpy as np
import pytest
import torch
from kubernetes import client

from leakrange.artifacts import FolderStore
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.reference_models import SHARD_MODELS, train_references
from leakrange.attacks.mia.reference_task import read_task, train_task_shard, write_task
from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import ThreatModel
from leakrange.datasets import load_dataset
from leakrange.models import TrainRecipe, spec_from_name_or_json
from leakrange.orchestrator.kubernetes import HelmRunner, KubernetesBackend
from leakrange.orchestrator.kubernetes.reference_jobs import parse_indexes
from tests.fixtures.kmock_server import (  # noqa: F401 - kube_emulator_with_jobs: fixture
    KubeEmulator,
    PlayedController,
    kube_emulator_with_jobs,
)
from tests.integration.test_kubernetes_backend import (  # noqa: F401 - fixtures
    control_defaults,
    core,
    deploy_ready,
    helm_binary,
    make_backend,
    namespace,
    pool,
    recorder,
)

CPU = torch.device("cpu")
WAIT_S = 60.0
N_MODELS = 2 * SHARD_MODELS + 2  # three shards: 64, 64, 2


@pytest.fixture(scope="module")
def adult() -> tuple[np.ndarray, np.ndarray]:
    data = load_dataset("adult")
    rows = np.random.default_rng(0).permutation(len(data.y))[:160]
    return data.x[rows], data.y[rows]


class JobController(PlayedController):
    """Plays the Job controller and kubelet for the first Job created in ``namespace``."""

    def __init__(self, batch: client.BatchV1Api, ns: str, store: FolderStore, *,
                 flaky: frozenset[int] = frozenset(), broken: frozenset[int] = frozenset(),
                 backoff_limit: int = 2) -> None:
        super().__init__(WAIT_S)
        self.batch, self.namespace, self.store = batch, ns, store
        self.flaky, self.broken, self.backoff_limit = flaky, broken, backoff_limit
        self.job: dict[str, Any] = {}
        self.attempts: dict[int, int] = {}
        self.trained: list[int] = []

    def _play(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            jobs = self.batch.list_namespaced_job(self.namespace).items
            if jobs:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no Job was created")
        job = self.batch.api_client.sanitize_for_serialization(jobs[0])
        self.job = job
        spec = job["spec"]
        args = spec["template"]["spec"]["containers"][0]["args"]
        task = args[args.index("--task") + 1]
        completed: list[int] = []
        failed: list[int] = []
        for index in range(spec["completions"]):
            for attempt in range(1, spec["backoffLimitPerIndex"] + 2):
                self.attempts[index] = attempt
                pod_fails = index in self.broken or (index in self.flaky and attempt == 1)
                if not pod_fails:
                    if train_task_shard(self.store, task, index, device=CPU, cores=1):
                        self.trained.append(index)
                    completed.append(index)
                    break
                self._patch({"failed": sum(self.attempts.values()) - len(completed)})
            else:
                failed.append(index)
        conditions = [{"type": "Failed" if failed else "Complete", "status": "True"}]
        self._patch({"completedIndexes": _ranges(completed),
                     "failedIndexes": _ranges(failed) if failed else None,
                     "succeeded": len(completed), "conditions": conditions})

    def _patch(self, status: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job_status(self.job["metadata"]["name"], self.namespace,
                                               {"status": status})


def _ranges(indexes: list[int]) -> str:
    return ",".join(str(i) for i in indexes)


def _context(store: FolderStore, x: np.ndarray, y: np.ndarray, fanout: Any) -> RunContext:
    return RunContext("run-1", None, store, ThreatModel(), x[:0], y[:0], cores=1,
                      reference_fanout=fanout)


def _train(ctx: RunContext, x: np.ndarray, y: np.ndarray) -> Any:
    return train_references(
        ctx, n_models=N_MODELS, pool_x=x, pool_y=y, extra_x=x[:5],
        spec=spec_from_name_or_json("logreg", [108], 2),
        recipe=TrainRecipe(epochs=1, batch_size=64), seed=7, online=True)


@pytest.fixture
def deployed(make_backend: Callable[..., KubernetesBackend], recorder: Any,  # noqa: F811
             core: client.CoreV1Api, pool: ThreadPoolExecutor,  # noqa: F811
             ) -> tuple[KubernetesBackend, str]:
    backend = make_backend()
    deploy_ready(pool, backend, recorder, core, "refs-001", ["mia"])
    return backend, "refs-001"


def test_an_attack_fans_its_references_out_as_an_indexed_job_and_a_failed_pod_is_retried(
    deployed: tuple[KubernetesBackend, str], kube_emulator: KubeEmulator,
    helm_binary: Path, namespace: str, tmp_path: Path, adult: tuple[np.ndarray, np.ndarray],  # noqa: F811
) -> None:
    backend, exercise = deployed
    x, y = adult
    store = FolderStore(tmp_path / "adversary-store")
    batch = client.BatchV1Api(kube_emulator.api_client())
    jobs = backend.reference_jobs(exercise, renderer=HelmRunner(helm_binary, namespace),
                                  poll_interval_s=0.05, timeout_s=WAIT_S)
    controller = JobController(batch, namespace, store, flaky=frozenset({1})).start()
    refs = _train(_context(store, x, y, jobs), x, y)
    controller.join()

    job = controller.job
    kubernetes_validate.validate(job, "1.35", strict=True)
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 3
    assert job["metadata"]["labels"]["leakrange.io/exercise"] == exercise
    assert controller.attempts == {0: 1, 1: 2, 2: 1}  # index 1's pod failed once, retried alone
    assert controller.trained == [0, 1, 2]
    assert refs.facts["reference_shards_remote"] == 3.0
    assert refs.facts["reference_shards_local"] == 0.0
    assert batch.list_namespaced_job(namespace).items == []  # deleted once it finished
    policy = client.NetworkingV1Api(kube_emulator.api_client()).read_namespaced_network_policy(
        f"ex-{exercise}-reference-training", namespace)
    assert policy.spec.ingress in (None, [])

    # The same references as training them here, shard for shard.
    local = _train(_context(FolderStore(tmp_path / "local"), x, y, None), x, y)
    assert np.array_equal(refs.load_all().pool, local.load_all().pool)
    assert np.array_equal(refs.load_all().extra, local.load_all().extra)


def test_shards_a_failed_job_did_not_store_are_trained_by_the_attack(
    deployed: tuple[KubernetesBackend, str], kube_emulator: KubeEmulator,
    helm_binary: Path, namespace: str, tmp_path: Path, adult: tuple[np.ndarray, np.ndarray],  # noqa: F811
) -> None:
    backend, exercise = deployed
    x, y = adult
    store = FolderStore(tmp_path / "adversary-store")
    batch = client.BatchV1Api(kube_emulator.api_client())
    jobs = backend.reference_jobs(exercise, renderer=HelmRunner(helm_binary, namespace),
                                  poll_interval_s=0.05, timeout_s=WAIT_S)
    controller = JobController(batch, namespace, store, broken=frozenset({2})).start()
    refs = _train(_context(store, x, y, jobs), x, y)
    controller.join()
    assert controller.attempts[2] == 3  # backoffLimitPerIndex 2: three pods, then it failed
    assert refs.facts["reference_shards_remote"] == 2.0
    assert refs.facts["reference_shards_local"] == 1.0
    assert batch.list_namespaced_job(namespace).items == []
    local = _train(_context(FolderStore(tmp_path / "local"), x, y, None), x, y)
    assert np.array_equal(refs.load_all().pool, local.load_all().pool)


def test_reference_jobs_need_a_deployed_exercise(
        make_backend: Callable[..., KubernetesBackend]) -> None:  # noqa: F811
    with pytest.raises(InvalidArgument) as err:
        make_backend().reference_jobs("never-deployed")
    assert err.value.field == "exercise"


def test_task_documents_and_shard_indexes_are_checked(
        tmp_path: Path, adult: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = adult
    store = FolderStore(tmp_path / "store")
    masks = np.ones((2, len(x)), dtype=bool)
    task = write_task(store, prefix="cache/t", spec=spec_from_name_or_json("logreg", [108], 2),
                      recipe=TrainRecipe(epochs=1), pool_x=x, pool_y=y, eval_x=x[:3],
                      masks=masks, seeds=[1, 2], ranges=[(0, 2)])
    assert read_task(store, task).ranges == [(0, 2)]
    with pytest.raises(InvalidArgument) as err:
        train_task_shard(store, task, 1, device=CPU, cores=1)
    assert err.value.field == "index"
    assert train_task_shard(store, task, 0, device=CPU, cores=1) is True
    assert train_task_shard(store, task, 0, device=CPU, cores=1) is False  # already stored
    not_a_task = f"sha256:{store.put_json({'kind': 'something-else'}).sha256}"
    with pytest.raises(InvalidArgument) as err:
        read_task(store, not_a_task)
    assert err.value.field == "task"
    with pytest.raises(InvalidArgument):
        read_task(store, "sha256:not-hex")


def test_job_indexes_are_parsed_as_the_api_writes_them() -> None:
    assert parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert parse_indexes(None) == frozenset() and parse_indexes("") == frozenset()


def test_the_pod_command_trains_the_shard_of_its_completion_index(
        tmp_path: Path, adult: tuple[np.ndarray, np.ndarray]) -> None:
    """``leakrange reference-shard`` as the Job's pods run it: index from JOB_COMPLETION_INDEX."""
    from typer.testing import CliRunner

    from leakrange.cli.main import app

    x, y = adult
    root = tmp_path / "store"
    store = FolderStore(root)
    task = write_task(store, prefix="cache/cli", spec=spec_from_name_or_json("logreg", [108], 2),
                      recipe=TrainRecipe(epochs=1), pool_x=x, pool_y=y, eval_x=x,
                      masks=np.ones((3, len(x)), dtype=bool), seeds=[1, 2, 3],
                      ranges=[(0, 2), (2, 3)])
    runner = CliRunner()
    args = ["reference-shard", "--task", task, "--store", str(root)]
    first = runner.invoke(app, args, env={"JOB_COMPLETION_INDEX": "1"})
    assert first.exit_code == 0, first.output
    assert "shard 1: trained" in first.output
    assert store.get_manifest("cache/cli/shard-00002-00003")["start"] == 2
    again = runner.invoke(app, args, env={"JOB_COMPLETION_INDEX": "1"})
    assert "shard 1: already stored" in again.output
    missing = runner.invoke(app, args, env={"JOB_COMPLETION_INDEX": ""})
    assert missing.exit_code != 0
