"""The Kubernetes range backend against an emulated API server, and the helm runner for real.

No real Kubernetes API server can run here (no kube-apiserver, kind, k3s or Docker), so kmock's
in-memory emulator (tests/fixtures/kmock_server.py) plays the API server: the backend's own
kubernetes client creates the tokens Secret, lists pods and events and deletes what it made
against it over HTTP, and the tests play kubelet and scheduler by patching pod statuses.

``helm upgrade --install`` cannot talk to kmock (helm downloads the OpenAPI document and sends
protobuf), so in the deploy tests the helm runner is replaced by a recorder that renders the
chart with the REAL ``helm template`` of helm/leakrange-exercise, using the backend's own values
files (the control plane's exercise-values.yaml, rendered by the real helm/leakrange chart, plus
the exercise's values), validates every manifest against the Kubernetes 1.35 schemas (strict),
and creates in kmock the pods the chart's Deployments would get. So the backend's values are
proven to render through the real chart. The real binary runs in the helm runner tests and in
one deploy whose real ``helm upgrade`` fails against kmock, to check the failure path end to end.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes import client

from leakrange.common.errors import InvalidArgument, MissingDependency, Unavailable
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import Deployment, TargetDeploySpec
from leakrange.orchestrator.kubernetes import (
    ExerciseCluster,
    HelmRunner,
    KubernetesBackend,
    PodPlacement,
    render_values,
)
from leakrange.orchestrator.kubernetes.pod_watch import pod_failure
from tests.fixtures.kmock_server import (
    CONTROL_CHART,
    EXERCISE_CHART,
    ChartRecorder,
    KubeEmulator,
    find_or_install_helm,
)

MODEL = "sha256:" + "ab" * 32
TOKENS = {"alice": "tok-alice", "bob": "tok-bob"}
SCHEDULER_MESSAGE = ("0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 "
                     "nodes are available: 3 No preemption victims found for incoming pod.")
TOKENS_SECRET = "leakrange-exercise-tokens"
WAIT_S = 20.0  # upper bound for the test's own waits on the backend thread


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def kube_emulator() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def helm_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return find_or_install_helm(tmp_path_factory.mktemp("helm-bin"))


@pytest.fixture(scope="module")
def control_defaults(helm_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """exercise-values.yaml of the control-plane chart (release ``range``), as deployed."""
    ci_values = CONTROL_CHART / "ci" / "default-values.yaml"
    rendered = HelmRunner(helm_binary, "range").template("range", CONTROL_CHART, [ci_values])
    config = next(d for d in yaml.safe_load_all(rendered)
                  if d and d["kind"] == "ConfigMap"
                  and "exercise-values.yaml" in (d.get("data") or {}))
    path = tmp_path_factory.mktemp("control") / "exercise-values.yaml"
    path.write_text(config["data"]["exercise-values.yaml"])
    return path


@pytest.fixture
def namespace() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def core(kube_emulator: KubeEmulator) -> client.CoreV1Api:
    return client.CoreV1Api(kube_emulator.api_client())


@pytest.fixture
def recorder(helm_binary: Path, core: client.CoreV1Api, namespace: str) -> ChartRecorder:
    return ChartRecorder(HelmRunner(helm_binary, namespace), core, namespace)


@pytest.fixture
def make_backend(
    kube_emulator: KubeEmulator, recorder: ChartRecorder, namespace: str, control_defaults: Path
) -> Iterator[Callable[..., KubernetesBackend]]:
    made: list[KubernetesBackend] = []

    def make(**overrides: Any) -> KubernetesBackend:
        options: dict[str, Any] = {"defaults_values": control_defaults,
                                   "deploy_timeout_s": WAIT_S, "poll_interval_s": 0.05,
                                   "unschedulable_grace_s": 0.0}
        options.update(overrides)
        backend = KubernetesBackend(ExerciseCluster(kube_emulator.api_client(), namespace),
                                    recorder, EXERCISE_CHART, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


# ------------------------------------------------------------------ kubelet and scheduler


def target_spec(**access: Any) -> TargetDeploySpec:
    return TargetDeploySpec(MODEL, Access(**access))


def start_deploy(pool: ThreadPoolExecutor, backend: KubernetesBackend, exercise_id: str,
                 families: list[str], **access: Any) -> Future[Deployment]:
    return pool.submit(backend.deploy, exercise_id, target_spec(**access), families, TOKENS)


def wait_for_pods(recorder: ChartRecorder, release: str, count: int,
                  deploying: Future[Deployment]) -> dict[str, client.V1Pod]:
    """component -> pod, once the recorder has created ``count`` pods of ``release``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if deploying.done():
            deploying.result()  # raises what ended the deploy early
            raise AssertionError("the deploy ended before its pods were created")
        pods = recorder.release_pods(release)
        if len(pods) == count:
            labels = [p.metadata.labels for p in pods]
            return {lab.get("leakrange.io/family") or lab["app.kubernetes.io/component"]: p
                    for lab, p in zip(labels, pods, strict=True)}
        time.sleep(0.05)
    raise AssertionError(f"{count} pods of {release} never appeared")


def set_status(core: client.CoreV1Api, pod: client.V1Pod, status: dict[str, Any]) -> None:
    core.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace,
                                     {"status": status})


def container(pod: client.V1Pod, state: dict[str, Any], **extra: Any) -> dict[str, Any]:
    spec = pod.spec.containers[0]
    return {"name": spec.name, "image": spec.image, "imageID": "", "ready": "running" in state,
            "restartCount": extra.pop("restartCount", 0), "state": state, **extra}


def ready(pod: client.V1Pod) -> dict[str, Any]:
    return {"phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "True"}],
            "containerStatuses": [container(pod, {"running": {}})]}


def waiting(pod: client.V1Pod, reason: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {"phase": "Pending" if reason != "CrashLoopBackOff" else "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "False"}],
            "containerStatuses": [container(pod, {"waiting": {"reason": reason,
                                                              "message": message}}, **extra)]}


def unschedulable(since: datetime) -> dict[str, Any]:
    return {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": SCHEDULER_MESSAGE,
                            "lastTransitionTime": since.strftime("%Y-%m-%dT%H:%M:%SZ")}]}


def secret_data(core: client.CoreV1Api, namespace: str, name: str = TOKENS_SECRET
                ) -> dict[str, str]:
    secret = core.read_namespaced_secret(name, namespace)
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def assert_cleaned_up(core: client.CoreV1Api, recorder: ChartRecorder, namespace: str,
                      exercise_id: str) -> None:
    release = f"ex-{exercise_id}"
    assert release in recorder.uninstalled
    assert recorder.list_releases() == []
    assert recorder.release_pods(release) == []
    assert not [key for key in secret_data(core, namespace) if key.startswith(exercise_id + ".")]


def deploy_ready(pool: ThreadPoolExecutor, backend: KubernetesBackend, recorder: ChartRecorder,
                 core: client.CoreV1Api, exercise_id: str, families: list[str],
                 **access: Any) -> tuple[Deployment, dict[str, client.V1Pod]]:
    future = start_deploy(pool, backend, exercise_id, families, **access)
    pods = wait_for_pods(recorder, f"ex-{exercise_id}", 1 + len(families), future)
    for pod in pods.values():
        set_status(core, pod, ready(pod))
    return future.result(WAIT_S), pods


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    spec = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in spec["env"]}


# ------------------------------------------------------------------ deploy


def test_deploy_returns_the_service_addresses_once_every_pod_is_ready(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor, control_defaults: Path,
) -> None:
    backend = make_backend()
    exercise_id = "ex-0a1b2c3d4e5f"
    deployment, _ = deploy_ready(pool, backend, recorder, core, exercise_id,
                                 ["mia", "inversion"], output="topk", top_k=3, rounding=4,
                                 query_budget=500)

    release = f"ex-{exercise_id}"
    assert deployment.target_address == f"{release}-target.{namespace}.svc:50051"
    assert deployment.attack_addresses == {
        "mia": f"{release}-mia.{namespace}.svc:50051",
        "inversion": f"{release}-inversion.{namespace}.svc:50051",
    }
    # The one tokens Secret: the exercise's keys, one principal:token per adversary for the
    # target, and the token the adversary services require from the orchestrator (handed back
    # in the Deployment).
    assert secret_data(core, namespace) == {
        f"{exercise_id}.client-tokens": "alice:tok-alice,bob:tok-bob",
        f"{exercise_id}.service-token": deployment.attack_token,
    }
    assert len(deployment.attack_token or "") >= 32

    # helm got the control plane's defaults first, then the exercise (no token in either).
    (install,) = recorder.installs
    assert install.release == release and install.values_files[0] == control_defaults
    exercise_values = install.values[1]
    assert exercise_values["exercise"] == {"id": exercise_id}
    assert [a["family"] for a in exercise_values["adversaries"]] == ["mia", "inversion"]
    assert "tok-alice" not in repr(install.values) and deployment.attack_token not in repr(
        install.values)
    # ... and the real chart turned them into the target's access policy and token wiring.
    target = install.named("Deployment", f"{release}-target")
    args = target["spec"]["template"]["spec"]["containers"][0]["args"]
    for flag, value in (("--output", "topk:3"), ("--rounding", "4"), ("--query-budget", "500"),
                        ("--model", MODEL)):
        assert args[args.index(flag) + 1] == value
    assert "--white-box" not in args
    assert env_of(target)["LEAKRANGE_CLIENT_TOKENS"] == {"name": TOKENS_SECRET,
                                                         "key": f"{exercise_id}.client-tokens"}
    mia = install.named("Deployment", f"{release}-mia")
    assert env_of(mia)["LEAKRANGE_TOKEN"] == {"name": TOKENS_SECRET,
                                              "key": f"{exercise_id}.service-token"}
    assert {d["metadata"]["name"] for d in install.manifests if d["kind"] == "Service"} == {
        f"{release}-target", f"{release}-mia", f"{release}-inversion"}
    assert backend.check(deployment) is None


def test_gpu_adversary_values_render_to_gpu_requests(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, pool: ThreadPoolExecutor,
) -> None:
    gpu_pod = PodPlacement(
        gpu=2, runtime_class_name="nvidia", node_selector={"nvidia.com/gpu.present": "true"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        resources={"requests": {"cpu": "4", "memory": "16Gi"},
                   "limits": {"cpu": "8", "memory": "32Gi"}},
    )
    backend = make_backend(adversary_pods={"mia": gpu_pod})
    deploy_ready(pool, backend, recorder, core, "ex-gpu000000001", ["mia", "synthetic"],
                 white_box=True)

    (install,) = recorder.installs
    mia = install.named("Deployment", "ex-ex-gpu000000001-mia")["spec"]["template"]["spec"]
    assert mia["runtimeClassName"] == "nvidia"
    assert mia["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    resources = mia["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == 2
    assert resources["limits"] == {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2}
    synthetic = install.named("Deployment", "ex-ex-gpu000000001-synthetic")
    cpu_resources = synthetic["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert "nvidia.com/gpu" not in cpu_resources["limits"]
    target = install.named("Deployment", "ex-ex-gpu000000001-target")
    assert "--white-box" in target["spec"]["template"]["spec"]["containers"][0]["args"]


def test_an_image_that_cannot_be_pulled_fails_the_deploy_and_removes_everything(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend()
    exercise_id = "ex-1111aaaa2222"
    future = start_deploy(pool, backend, exercise_id, ["mia"])
    pods = wait_for_pods(recorder, f"ex-{exercise_id}", 2, future)
    set_status(core, pods["target"], ready(pods["target"]))
    set_status(core, pods["mia"], waiting(pods["mia"], "ImagePullBackOff",
                                          'Back-off pulling image "x"'))

    with pytest.raises(Unavailable) as err:
        future.result(WAIT_S)
    image = pods["mia"].spec.containers[0].image
    assert str(err.value) == f"image for mia cannot be pulled: {image}"
    assert recorder.installs[0].killed
    assert_cleaned_up(core, recorder, namespace, exercise_id)


def test_a_gpu_pod_no_node_can_take_fails_with_the_scheduler_reason(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend(adversary_pods={"mia": PodPlacement(gpu=1)})
    exercise_id = "ex-3333bbbb4444"
    future = start_deploy(pool, backend, exercise_id, ["mia"])
    pods = wait_for_pods(recorder, f"ex-{exercise_id}", 2, future)
    set_status(core, pods["mia"], unschedulable(datetime.now(UTC)))

    with pytest.raises(Unavailable) as err:
        future.result(WAIT_S)
    assert str(err.value) == ("pod mia cannot be scheduled: 0/3 nodes are available: "
                              "3 Insufficient nvidia.com/gpu.")
    assert_cleaned_up(core, recorder, namespace, exercise_id)


def test_unschedulable_is_tolerated_for_the_grace_period() -> None:
    """A cluster autoscaler may still add a node: only a refusal older than the grace counts."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    pod = {"metadata": {"labels": {"leakrange.io/family": "mia"}},
           "status": unschedulable(now - timedelta(seconds=10))}
    assert pod_failure(pod, now, unschedulable_grace_s=30.0) is None
    assert pod_failure(pod, now, unschedulable_grace_s=5.0) == (
        "pod mia cannot be scheduled: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")


def test_a_quota_that_blocks_pod_creation_fails_the_deploy(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend()
    exercise_id = "ex-5555cccc6666"
    future = start_deploy(pool, backend, exercise_id, ["mia"])
    wait_for_pods(recorder, f"ex-{exercise_id}", 2, future)
    core.create_namespaced_event(namespace, {
        "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedCreate",
        "metadata": {"name": "quota-event", "namespace": namespace},
        "involvedObject": {"kind": "ReplicaSet", "name": f"ex-{exercise_id}-mia-5d4f8c9b7"},
        "lastTimestamp": (datetime.now(UTC) + timedelta(seconds=5)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        "message": 'pods "x" is forbidden: exceeded quota: gpu, requested: nvidia.com/gpu=1',
    })

    with pytest.raises(Unavailable) as err:
        future.result(WAIT_S)
    assert str(err.value) == ('cannot create the pod of mia: pods "x" is forbidden: exceeded '
                              "quota: gpu, requested: nvidia.com/gpu=1")
    assert_cleaned_up(core, recorder, namespace, exercise_id)


def test_a_deploy_that_never_gets_ready_times_out_and_cleans_up(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend(deploy_timeout_s=1.0)
    exercise_id = "ex-7777dddd8888"
    future = start_deploy(pool, backend, exercise_id, ["mia"])
    pods = wait_for_pods(recorder, f"ex-{exercise_id}", 2, future)
    set_status(core, pods["target"], ready(pods["target"]))

    with pytest.raises(Unavailable) as err:
        future.result(WAIT_S)
    assert str(err.value) == "services did not become ready within 1 s (mia: ContainerCreating)"
    assert recorder.installs[0].killed
    assert recorder.installs[0].timeout_s == 1.0
    assert_cleaned_up(core, recorder, namespace, exercise_id)


# ------------------------------------------------------------------ check, teardown, orphans


def test_check_reports_a_crash_looping_or_terminated_service(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend()
    deployment, pods = deploy_ready(pool, backend, recorder, core, "ex-9999eeee0000", ["mia"])
    assert backend.check(deployment) is None

    mia = pods["mia"]
    set_status(core, mia, waiting(mia, "CrashLoopBackOff", "back-off 40s restarting",
                                  restartCount=3,
                                  lastState={"terminated": {"exitCode": 1, "reason": "Error"}}))
    assert backend.check(deployment) == "mia keeps crashing (exit code 1)"

    target = pods["target"]
    set_status(core, mia, ready(mia))
    set_status(core, target, {"phase": "Running", "containerStatuses": [container(
        target, {"terminated": {"exitCode": 137, "reason": "OOMKilled"}})]})
    assert backend.check(deployment) == "target terminated (exit code 137, OOMKilled)"

    set_status(core, target, {"phase": "Failed", "reason": "Evicted", "containerStatuses": []})
    assert backend.check(deployment) == "pod target failed: Evicted"

    core.delete_namespaced_pod(target.metadata.name, target.metadata.namespace)
    assert backend.check(deployment) == "the pod of target is gone"


def test_teardown_removes_release_and_secret_and_is_idempotent(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, pool: ThreadPoolExecutor,
) -> None:
    backend = make_backend()
    exercise_id = "ex-abcdef012345"
    deploy_ready(pool, backend, recorder, core, exercise_id, ["mia"])
    assert recorder.list_releases() == [f"ex-{exercise_id}"]

    backend.teardown(exercise_id)
    assert_cleaned_up(core, recorder, namespace, exercise_id)
    backend.teardown(exercise_id)  # again: nothing left, no error
    backend.teardown("ex-never-deployed")
    backend.teardown("Not A DNS Name")  # cannot exist in the cluster: nothing to do
    assert recorder.uninstalled == [f"ex-{exercise_id}"] * 2 + ["ex-ex-never-deployed"]


def test_cleanup_orphans_removes_exercise_releases_and_secrets_only(
    make_backend: Callable[..., KubernetesBackend], recorder: ChartRecorder,
    core: client.CoreV1Api, namespace: str, kube_emulator: KubeEmulator,
) -> None:
    # What a killed orchestrator left: two releases, tokens keys of one of them and of a third
    # exercise whose install never started; and what is not ours: the control plane, its
    # Secrets and keys of the tokens Secret that are no exercise's.
    recorder.releases.update({"ex-ex-000000000001": "leakrange-exercise",
                              "ex-ex-000000000002": "leakrange-exercise",
                              "ex-control": "leakrange", "range": "leakrange"})
    cluster = ExerciseCluster(kube_emulator.api_client(), namespace)
    cluster.put_exercise_tokens(TOKENS_SECRET, "ex-000000000002", "a:b", "s")
    cluster.put_exercise_tokens(TOKENS_SECRET, "ex-000000000003", "a:b", "s")
    cluster.put_exercise_tokens(TOKENS_SECRET, "ex-000000000003", "a:c", "t")
    core.patch_namespaced_secret(TOKENS_SECRET, namespace, {"data": {"README": "YQ=="}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "range-leakrange-minio"},
                                              "data": {"root-user": "YQ=="}})

    backend = make_backend()
    assert backend.cleanup_orphans() == ["ex-000000000001", "ex-000000000002",
                                         "ex-000000000003"]
    assert recorder.list_releases(prefix="") == ["ex-control", "range"]
    assert sorted(s.metadata.name for s in core.list_namespaced_secret(namespace).items) == [
        TOKENS_SECRET, "range-leakrange-minio"]
    assert secret_data(core, namespace) == {"README": "a"}
    assert backend.cleanup_orphans() == []


# ------------------------------------------------------------------ values and helm runner


def test_render_values_refuses_what_the_chart_cannot_deploy() -> None:
    spec = target_spec()
    with pytest.raises(InvalidArgument, match="exercise_id"):
        render_values("Bad_Id", spec, ["mia"], "s")
    with pytest.raises(InvalidArgument, match="families"):
        render_values("ex-1", spec, ["mia", "mia"], "s")
    with pytest.raises(InvalidArgument, match="families"):
        render_values("ex-1", spec, ["poison"], "s")
    with pytest.raises(InvalidArgument, match="gpu"):
        PodPlacement(gpu=-1)
    values = render_values("ex-1", target_spec(output="label", query_budget=0), ["mia"], "s")
    assert values["target"] == {"enabled": True, "model": MODEL, "output": "label", "topK": 1,
                                "rounding": None, "queryBudget": None, "whiteBox": False,
                                "tokensSecret": {"name": "s",
                                                 "clientTokensKey": "ex-1.client-tokens",
                                                 "serviceTokenKey": "ex-1.service-token"}}
    assert values["adversaries"] == [{"family": "mia", "gpu": 0, "resources": {
        "requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}}]


def test_helm_runner_keeps_release_records_in_configmaps(tmp_path: Path) -> None:
    """The Role grants no Secret but the tokens Secret: helm must not use its "secret" driver."""
    script = tmp_path / "fake-helm"  # prints the driver helm would use
    script.write_text("#!/bin/sh\nprintf '[{\"name\": \"ex-%s\"}]' \"$HELM_DRIVER\"\n")
    script.chmod(0o755)
    assert HelmRunner(script, "range").list_releases() == ["ex-configmap"]
    assert HelmRunner(script, "range", driver="secret").list_releases() == ["ex-secret"]
    with pytest.raises(InvalidArgument, match="helm_driver"):
        HelmRunner(script, "range", driver="sql")


def test_helm_runner_command_lines(tmp_path: Path) -> None:
    helm = HelmRunner("/opt/helm", "range")
    values = [tmp_path / "defaults.yaml", tmp_path / "values.json"]
    assert helm.upgrade_install_argv("ex-ex-1", Path("/charts/ex"), values, 600) == [
        "/opt/helm", "upgrade", "ex-ex-1", "/charts/ex", "--install", "--wait=watcher",
        "--timeout", "600s", "--namespace", "range",
        "--values", str(values[0]), "--values", str(values[1])]
    assert helm.uninstall_argv("ex-ex-1") == [
        "/opt/helm", "uninstall", "ex-ex-1", "--namespace", "range", "--ignore-not-found",
        "--timeout", "120s"]
    assert helm.list_argv("ex-")[:9] == [
        "/opt/helm", "list", "--namespace", "range", "--output", "json", "--filter", "^ex\\-",
        "--max"]


def test_helm_runner_renders_the_exercise_chart_with_backend_values(
    helm_binary: Path, control_defaults: Path, tmp_path: Path,
) -> None:
    values = render_values("ex-0f0f0f0f0f0f", target_spec(output="logits"), ["mia", "federated"],
                           "ex-ex-0f0f0f0f0f0f-tokens")
    values_file = tmp_path / "values.json"
    values_file.write_text(yaml.safe_dump(values))
    rendered = HelmRunner(helm_binary, "range").template(
        "ex-ex-0f0f0f0f0f0f", EXERCISE_CHART, [control_defaults, values_file], "1.35.0")
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.35", strict=True)
    deployments = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Deployment")
    assert deployments == ["ex-ex-0f0f0f0f0f0f-federated", "ex-ex-0f0f0f0f0f0f-mia",
                           "ex-ex-0f0f0f0f0f0f-target"]
    assert all(d["metadata"]["labels"]["leakrange.io/exercise"] == "ex-0f0f0f0f0f0f"
               for d in docs)


def test_a_failing_helm_command_gives_a_short_clean_error(helm_binary: Path,
                                                          tmp_path: Path) -> None:
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps({  # passes the schema, not the chart's validateValues
        "exercise": {"id": "ex-1"}, "store": {"url": ""},
        "target": {"model": "", "tokensSecret": {"name": "t"}},
        "adversaries": [{"family": "mia", "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                        "limits": {"cpu": "1", "memory": "1Gi"}}}],
    }))
    with pytest.raises(Unavailable) as err:
        HelmRunner(helm_binary, "range").template("ex-ex-1", EXERCISE_CHART, [values_file])
    message = str(err.value)
    assert message.startswith("helm template failed: ")
    assert "store.url is required" in message and "target.model is required" in message
    assert "\n" not in message and len(message) <= 330
    with pytest.raises(MissingDependency, match="helm binary was not found"):
        HelmRunner(tmp_path / "no-helm", "range").list_releases()


def test_real_helm_against_the_emulator_lists_uninstalls_and_fails_install_cleanly(
    helm_binary: Path, kube_emulator: KubeEmulator, namespace: str, core: client.CoreV1Api,
    control_defaults: Path, tmp_path: Path,
) -> None:
    """helm's read paths work against kmock; its install cannot (no OpenAPI, no protobuf),
    which exercises the backend's helm-failure path with the real binary."""
    kubeconfig = kube_emulator.kubeconfig(tmp_path / "kubeconfig", namespace)
    helm = HelmRunner(helm_binary, namespace, extra_env={"KUBECONFIG": str(kubeconfig),
                                                         "HELM_CACHE_HOME": str(tmp_path)})
    assert helm.list_releases() == []
    helm.uninstall("ex-ex-not-there")  # not found is fine

    backend = KubernetesBackend(ExerciseCluster(kube_emulator.api_client(), namespace), helm,
                                EXERCISE_CHART, defaults_values=control_defaults,
                                deploy_timeout_s=WAIT_S, poll_interval_s=0.05)
    with pytest.raises(Unavailable) as err:
        backend.deploy("ex-feedfeed0001", target_spec(), ["mia"], TOKENS)
    assert str(err.value).startswith("helm could not install the exercise: ")
    assert "tok-alice" not in str(err.value)
    assert secret_data(core, namespace) == {}  # the exercise's keys are gone again
