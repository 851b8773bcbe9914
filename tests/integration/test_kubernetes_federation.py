"""A ``target.federated`` federation run by the Kubernetes backend, against the emulated API
server, with the range's store on a real S3 endpoint (moto, through the minio client).

kmock (tests/fixtures/kmock_server.py) emulates the Kubernetes API server: the backend's own
client creates the run Job and its NetworkPolicy there, lists the pods, reads the Job's status
and deletes what it made. helm's install cannot talk to kmock, so the ChartRecorder renders the
release with the REAL ``helm template`` (validated against the 1.35 schemas) and creates the
Deployment's pod. kmock runs no controllers, so this test plays the StatefulSet controller (one
SuperNode pod per replica, with its pod-index label), the kubelet (each SuperNode's init
container is run for real: ``fetch_partition`` with the pod's own arguments against the range's
store; then the pods turn Ready) and the Job controller: it reads the Job the backend created,
writes the observation as the ServerApp in the SuperLink pod would (``StoreObservations``, the
ServerApp's writer, with the names the ServerApp uses), and patches the Job's status.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import numpy as np
import pytest
import yaml
from kubernetes import client

from leakrange.artifacts import ArtifactStore, open_store
from leakrange.common.errors import FailedPrecondition, Unavailable
from leakrange.federation import fetch_partition
from leakrange.federation.flower_env import find_flower_env
from leakrange.federation.observation_files import (
    FINAL,
    client_name,
    done_name,
    global_name,
    read_arrays,
)
from leakrange.federation.observation_store import SETTINGS, StoreObservations
from leakrange.federation.settings import FederationSettings
from leakrange.models import spec_from_name_or_json
from leakrange.orchestrator.dataset_cache import DatasetCache
from leakrange.orchestrator.kubernetes import KubernetesBackend
from leakrange.orchestrator.kubernetes.federation_run import (
    observation_prefix,
    partitions_prefix,
    put_run_inputs,
)
from leakrange.orchestrator.spec_loading import load_spec
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.federated import FederatedSpec
from leakrange.orchestrator.target_kinds.federated_host import FederationJob
from leakrange.orchestrator.target_kinds.federated_prepare import (
    initial_state,
    prepare_federation,
    split,
)
from leakrange.orchestrator.target_kinds.federated_run import FederatedRun
from tests.fixtures.kmock_server import (  # noqa: F401 - kube_emulator_with_jobs: fixture
    CONTROL_CHART,
    ChartRecorder,
    KubeEmulator,
    PlayedController,
    kube_emulator_with_jobs,
)
from tests.integration.test_kubernetes_backend import (  # noqa: F401 - fixtures
    container,
    control_defaults,
    core,
    helm_binary,
    make_backend,
    namespace,
    pool,
    ready,
    recorder,
    set_status,
)

WAIT_S = 60.0
EXERCISE = "fed-k8s-001"
RELEASE = f"ex-{EXERCISE}"
FEDERATED: dict[str, Any] = {"framework": "flower", "dataset": "digits", "clients": 2,
                             "records_per_client": 2, "batch_size": 2, "rounds": 2,
                             "holdout": 20, "model": "mlp-small",
                             "adversary": {"role": "honest_server"}}


@pytest.fixture
def range_store(s3_store_url: str) -> ArtifactStore:
    return open_store(s3_store_url)


class FederationController(PlayedController):
    """Plays the StatefulSet controller, kubelet and Job controller for one federation run
    (see the module docstring). ``outcome``: ``complete``, ``job-fails`` (after every round)
    or ``supernode-dies`` (SuperNode 1 is killed during round 2)."""

    def __init__(self, core_api: client.CoreV1Api, batch: client.BatchV1Api,
                 chart_recorder: ChartRecorder, store: ArtifactStore, store_url: str,
                 work: Path, outcome: str = "complete") -> None:
        super().__init__(WAIT_S)
        self.core, self.batch, self.recorder = core_api, batch, chart_recorder
        self.store, self.store_url, self.work, self.outcome = store, store_url, work, outcome
        self.fetched: dict[int, dict[str, np.ndarray]] = {}
        self.written: dict[str, dict[str, np.ndarray]] = {}
        self.install_values: dict[str, Any] = {}
        self.images: set[str] = set()
        self.job: dict[str, Any] = {}

    def _wait(self, what: str, found: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = found()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"{what} never appeared")

    def _play(self) -> None:
        install = self._wait("the federation install", lambda: next(
            (i for i in self.recorder.installs if i.release == RELEASE), None))
        self.install_values = install.values[-1]
        self.images = {c["image"] for d in install.manifests
                       if d["kind"] in ("Deployment", "StatefulSet")
                       for c in d["spec"]["template"]["spec"]["containers"]}
        for index in self._supernodes(install):  # the StatefulSet controller, then the
            self._fetch(install, index)  # kubelet: each init container, for real
        for pod in self.recorder.release_pods(RELEASE):
            set_status(self.core, pod, ready(pod))
        jobs = self._wait("the run Job", lambda: self.batch.list_namespaced_job(
            self.recorder.namespace).items)
        self.job = self.batch.api_client.sanitize_for_serialization(jobs[0])
        args = self.job["spec"]["template"]["spec"]["containers"][0]["args"]
        out = StoreObservations(self.store, args[args.index("--prefix") + 1])
        settings = FederationSettings.model_validate(out.read_json(SETTINGS))
        for r in range(1, settings.rounds + 1):
            if self.outcome == "supernode-dies" and r == 2:
                node = next(p for p in self.recorder.release_pods(RELEASE)
                            if p.metadata.labels.get("apps.kubernetes.io/pod-index") == "1")
                set_status(self.core, node, {"phase": "Running", "containerStatuses": [
                    container(node, {"terminated": {"exitCode": 137, "reason": "OOMKilled"}})]})
                return
            self._serve_round(out, settings, r)
        if self.outcome == "job-fails":
            self._patch({"failed": 1, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}]})
            return
        final = self.written[global_name(settings.rounds)]
        out.write_arrays(FINAL, final)
        self._patch({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})

    def _supernodes(self, install: Any) -> dict[int, str]:
        sts = install.named("StatefulSet", f"{RELEASE}-supernode")
        template = sts["spec"]["template"]
        names = {}
        for index in range(sts["spec"]["replicas"]):
            name = f"{sts['metadata']['name']}-{index}"
            self.core.create_namespaced_pod(self.recorder.namespace, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": self.recorder.namespace, "labels": {
                    **template["metadata"]["labels"],
                    "apps.kubernetes.io/pod-index": str(index)}},
                "spec": {"containers": [{"name": c["name"], "image": c["image"]}
                                        for c in template["spec"]["containers"]]},
                "status": {"phase": "Pending"}})
            install.pods.append(name)  # the stand-in's --wait waits for these too
            names[index] = name
        return names

    def _fetch(self, install: Any, index: int) -> None:
        init = install.named("StatefulSet", f"{RELEASE}-supernode")[
            "spec"]["template"]["spec"]["initContainers"][0]
        assert init["command"] == ["python", "-m", "leakrange.federation.fetch_partition"]
        args = [str(index) if a == "$(PARTITION_ID)" else a for a in init["args"]]
        # The chart's store URL is the control plane's MinIO; here the range store is moto.
        args[args.index("--store") + 1] = self.store_url
        dest = self.work / f"node-{index}" / "client.safetensors"
        args[args.index("--dest") + 1] = str(dest)
        assert fetch_partition.main(args) == 0
        self.fetched[index] = read_arrays(dest)

    def _serve_round(self, out: StoreObservations, settings: FederationSettings, r: int) -> None:
        """What the ServerApp records for a server adversary in round r (server_app.py)."""
        state = initial_state(settings.model(), settings.seed + r)
        out.write_arrays(global_name(r), state)
        self.written[global_name(r)] = state
        clients: dict[str, dict[str, float]] = {}
        for k in range(settings.clients):
            update = {n: v + np.float32(0.01 * (k + 1)) for n, v in state.items()}
            out.write_arrays(client_name(r, k), update)
            self.written[client_name(r, k)] = update
            clients[str(k)] = {"records": 2.0, "train_loss": 0.5}
        out.write_json(done_name(r), {"round": r, "clients": clients, "failures": 0})

    def _patch(self, status: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job_status(self.job["metadata"]["name"],
                                               self.recorder.namespace, {"status": status})


def _exercise() -> Any:
    return load_spec(yaml.safe_dump({
        "name": "fl", "target": {"federated": FEDERATED},
        "adversaries": [{"name": "server", "family": "federated",
                         "attacks": [{"name": "idlg"}]}]}))


def _run(make_backend: Callable[..., KubernetesBackend], kube_emulator: KubeEmulator,  # noqa: F811
         recorder: ChartRecorder, core: client.CoreV1Api, store: ArtifactStore,  # noqa: F811
         store_url: str, tmp_path: Path, outcome: str
         ) -> tuple[FederatedRun | BaseException, FederationController]:
    backend = make_backend()
    batch = client.BatchV1Api(kube_emulator.api_client())
    controller = FederationController(core, batch, recorder, store, store_url, tmp_path,
                                      outcome).start()
    ctx = PrepareContext(store, DatasetCache(store=store),
                         federation=backend.federation_host(EXERCISE))
    try:
        result: FederatedRun | BaseException = prepare_federation(
            FederatedSpec.model_validate(FEDERATED), ctx)
    except FailedPrecondition as err:
        result = err
    controller.join()
    return result, controller


def test_a_completed_run_job_gives_the_run_the_serverapp_recorded(
    make_backend: Callable[..., KubernetesBackend], kube_emulator: KubeEmulator,  # noqa: F811
    recorder: ChartRecorder, core: client.CoreV1Api, range_store: ArtifactStore,  # noqa: F811
    s3_store_url: str, namespace: str, tmp_path: Path,  # noqa: F811
) -> None:
    run, controller = _run(make_backend, kube_emulator, recorder, core, range_store,
                           s3_store_url, tmp_path, "complete")
    assert isinstance(run, FederatedRun)
    # The release's federation values, as the chart rendered them.
    assert controller.install_values["federation"] == {
        "enabled": True, "clients": 2, "partitionsPrefix": partitions_prefix(EXERCISE),
        "observationPrefix": observation_prefix(EXERCISE)}
    assert controller.install_values["adversaries"] == []
    assert controller.install_values["target"]["enabled"] is False
    # The control plane's exercise-values.yaml names the federation image (orchestrator.exercise).
    version = yaml.safe_load((CONTROL_CHART / "Chart.yaml").read_text())["appVersion"]
    assert controller.images == {f"leakrange/federation:{version}"}
    # Each SuperNode's init container fetched its own client's partition from the range store.
    spec = FederatedSpec.model_validate(FEDERATED)
    data = DatasetCache(store=range_store).get("digits")
    parts, _ = split(spec, data)
    for k, rows in enumerate(parts):
        assert np.array_equal(controller.fetched[k]["x"], data.x[rows].astype(np.float32))
        assert np.array_equal(controller.fetched[k]["y"], data.y[rows])
    # The run Job came from the chart's template and validates against the 1.35 schemas.
    job = controller.job
    kubernetes_validate.validate(job, "1.35", strict=True)
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "federation-run"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    args = pod["containers"][0]["args"]
    assert args[args.index("--superlink") + 1] == f"{RELEASE}-superlink:9092"
    # The observation is what the ServerApp wrote to the store, tensor for tensor.
    for r in (1, 2):
        for name, value in controller.written[global_name(r)].items():
            assert np.array_equal(run.observation[f"fl.global.r{r}.{name}"], value)
        for k in (0, 1):
            for name, value in controller.written[client_name(r, k)].items():
                assert np.array_equal(run.observation[f"fl.update.r{r}.c{k}.{name}"], value)
        assert run.observation[f"fl.records.r{r}"].tolist() == [2, 2]
    assert run.facts["rounds_finished"] == [1, 2]
    # Everything the run made in the cluster is gone; the partitions' names too.
    assert batch_jobs(kube_emulator, namespace) == []
    assert RELEASE in recorder.uninstalled
    assert not range_store.list_manifests(f"{partitions_prefix(EXERCISE)}/")
    # The adversary (a server) receives no record of any client: the rest is the local path.
    view = run.adversary_view(_exercise(), DatasetCache(store=range_store))
    sent = view.data.SerializeToString()
    for rows in parts:
        for row in rows:
            assert np.ascontiguousarray(data.x[row], "<f4").tobytes() not in sent
    assert not view.data.HasField("population")
    # A second prepare reuses the recorded run (cache by spec hash): no second install.
    installs = len(recorder.installs)
    again = prepare_federation(spec, PrepareContext(range_store, DatasetCache(store=range_store)))
    assert len(recorder.installs) == installs
    assert again.facts["rounds_finished"] == [1, 2]


def batch_jobs(kube_emulator: KubeEmulator, namespace: str) -> list[Any]:  # noqa: F811
    return client.BatchV1Api(kube_emulator.api_client()).list_namespaced_job(namespace).items


def test_a_failed_run_job_fails_the_exercise_and_keeps_the_finished_rounds(
    make_backend: Callable[..., KubernetesBackend], kube_emulator: KubeEmulator,  # noqa: F811
    recorder: ChartRecorder, core: client.CoreV1Api, range_store: ArtifactStore,  # noqa: F811
    s3_store_url: str, namespace: str, tmp_path: Path,  # noqa: F811
) -> None:
    err, _ = _run(make_backend, kube_emulator, recorder, core, range_store, s3_store_url,
                  tmp_path, "job-fails")
    assert isinstance(err, FailedPrecondition)
    assert "run Job BackoffLimitExceeded" in str(err) and "finished rounds kept: [1, 2]" in str(err)
    kept = StoreObservations(range_store, observation_prefix(EXERCISE)).names()
    assert {done_name(1), done_name(2), client_name(2, 1)} <= set(kept)
    assert batch_jobs(kube_emulator, namespace) == [] and RELEASE in recorder.uninstalled


def test_a_supernode_that_dies_fails_the_run_naming_it(
    make_backend: Callable[..., KubernetesBackend], kube_emulator: KubeEmulator,  # noqa: F811
    recorder: ChartRecorder, core: client.CoreV1Api, range_store: ArtifactStore,  # noqa: F811
    s3_store_url: str, namespace: str, tmp_path: Path,  # noqa: F811
) -> None:
    err, _ = _run(make_backend, kube_emulator, recorder, core, range_store, s3_store_url,
                  tmp_path, "supernode-dies")
    assert isinstance(err, FailedPrecondition)
    message = str(err)
    assert "supernode 1 terminated (exit code 137, OOMKilled) during round 2 of 2" in message
    assert "finished rounds kept: [1]" in message
    kept = StoreObservations(range_store, observation_prefix(EXERCISE)).names()
    assert done_name(1) in kept and done_name(2) not in kept
    assert batch_jobs(kube_emulator, namespace) == [] and RELEASE in recorder.uninstalled


def test_a_superlink_image_that_cannot_be_pulled_fails_before_any_run(
    make_backend: Callable[..., KubernetesBackend], kube_emulator: KubeEmulator,  # noqa: F811
    recorder: ChartRecorder, core: client.CoreV1Api, range_store: ArtifactStore,  # noqa: F811
    namespace: str,  # noqa: F811
) -> None:
    backend = make_backend()
    host = backend.federation_host(EXERCISE)
    spec = FederatedSpec.model_validate(FEDERATED)

    def kubelet() -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not recorder.release_pods(RELEASE):
            time.sleep(0.05)
        pod = recorder.release_pods(RELEASE)[0]  # the SuperLink's (a Deployment's) pod
        set_status(core, pod, {"phase": "Pending", "containerStatuses": [container(
            pod, {"waiting": {"reason": "ImagePullBackOff", "message": "pull failed"}})]})

    thread = threading.Thread(target=kubelet, daemon=True)
    thread.start()
    with pytest.raises(Unavailable, match="image for superlink cannot be pulled"):
        prepare_federation(spec, PrepareContext(range_store, DatasetCache(store=range_store),
                                                federation=host))
    thread.join(WAIT_S)
    assert batch_jobs(kube_emulator, namespace) == []  # no run was submitted
    assert RELEASE in recorder.uninstalled


def test_the_serverapp_store_writer_runs_in_the_flower_environment(
    range_store: ArtifactStore, s3_store_url: str,
) -> None:
    """The writer/reader pair for real: the range puts the run's inputs into S3, the ServerApp's
    own code in .venv-federated (protobuf 6, minio) reads them (``store_inputs``), evaluates a
    model with Flower's ``ArrayRecord`` and writes through ``StoreObservations``; the range
    reads it back. No generated stub is loaded there."""
    spec = FederatedSpec.model_validate({**FEDERATED, "eval_every": 1})
    data = DatasetCache(store=range_store).get("digits")
    model = spec_from_name_or_json(spec.model, data.input_shape, data.num_classes)
    parts, holdout = split(spec, data)
    settings = FederationSettings(clients=2, rounds=1, local_epochs=1, batch_size=2, lr=0.1,
                                  seed=0, model_spec=json.loads(model.model_dump_json()),
                                  record_updates=True, eval_every=1)
    job = FederationJob(settings, [(data.x[p], data.y[p]) for p in parts],
                        holdout={"x": data.x[holdout].astype(np.float32),
                                 "y": data.y[holdout].astype(np.int64)})
    out = put_run_inputs(range_store, EXERCISE, job)
    code = f"""
import sys, torch
from flwr.app import ArrayRecord
from leakrange.federation.server_app import holdout_evaluator, run_inputs
from leakrange.federation.observation_files import FINAL, global_name
from leakrange.models.zoo import build_model
inputs = run_inputs({{"store": {s3_store_url!r}, "store-prefix": {out.prefix!r}}})
torch.manual_seed(inputs.settings.seed)
state = build_model(inputs.settings.model()).state_dict()
inputs.out.write_arrays(global_name(1), {{k: v.numpy() for k, v in state.items()}})
holdout_evaluator(inputs.settings, inputs.out, inputs.holdout)(1, ArrayRecord(state))
inputs.out.write_arrays(FINAL, {{k: v.numpy() for k, v in state.items()}})
assert not [m for m in sys.modules if m.startswith("leakrange.v1")]
import google.protobuf as pb; print(pb.__version__)
"""
    proc = subprocess.run([find_flower_env().tool("python"), "-c", code], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith("6.")
    expected = initial_state(model, 0)
    written = out.read_arrays(FINAL)
    assert sorted(written) == sorted(expected)
    for name, value in expected.items():
        assert np.array_equal(written[name], value)
    from leakrange.federation.evaluation import read_evaluations

    [evaluation] = read_evaluations(out)
    assert evaluation["round"] == 1 and evaluation["records"] == float(len(holdout))
    assert 0.0 <= evaluation["accuracy"] <= 1.0
