"""A ``target.federated`` federation run in the cluster (the Kubernetes range's
``FederationHost``), as the local launcher runs one with processes.

``KubernetesFederation.run_federation`` for one exercise:

1. puts each client's partition (x, y as safetensors) into the range's store as
   ``federation/<exercise>/partitions/client-<k>`` (what ``federation/fetch_partition.py``
   reads; the adversaries' store never gets them), and the run's ``settings`` (and the
   malicious server's ``crafted`` model, the ``holdout``) under the run's observation prefix
   ``federation/<exercise>/run`` (records of an earlier attempt there are removed first);
2. installs the exercise release with ``federation.*`` set (SuperLink Deployment + Service, one
   SuperNode pod per client, no target, no adversary pod yet) and waits until the SuperLink and
   every SuperNode are ready: an image that cannot be pulled, a pod no node takes or a crash
   loop ends it at once, with the node named;
3. renders the chart's run Job (``federation-run-job.yaml``: ``flwr run`` against the SuperLink
   Service) and its NetworkPolicy with the real ``helm template`` from the same values, creates
   them and follows the Job to Complete or Failed while it watches the nodes: a SuperNode pod
   that dies fails the run with ``supernode 1 terminated (exit code 137) during round 2 of 2;
   finished rounds kept: [1]``;
4. returns the observation the ServerApp wrote to the store (``StoreObservations``), after
   which the same ``observed`` / ``FederatedRun`` as on the local range follow.

Whatever the outcome, the Job, its policy, the release and the partitions' manifests are
removed; what the ServerApp wrote stays in the store. The adversaries' release is installed
later, by ``deploy``, as for every exercise.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import urllib3
import yaml
from kubernetes import client
from safetensors.numpy import save as save_tensors

from leakrange.artifacts import ArtifactStore
from leakrange.artifacts.media_types import MEDIA_TENSORS
from leakrange.common.errors import Cancelled, FailedPrecondition, RangeError, Unavailable
from leakrange.federation.observation_files import FINAL, rounds_done
from leakrange.federation.observation_store import (
    CRAFTED,
    HOLDOUT,
    SETTINGS,
    StoreObservations,
)
from leakrange.orchestrator.kubernetes.api_call import REQUEST_TIMEOUT_S, api_call
from leakrange.orchestrator.kubernetes.federation_pods import federation_death, view_federation
from leakrange.orchestrator.kubernetes.helm_runner import HelmClient, short_error
from leakrange.orchestrator.kubernetes.names import release_name, tokens_secret_ref
from leakrange.orchestrator.kubernetes.pod_watch import event_failure, short
from leakrange.orchestrator.kubernetes.reference_jobs import TemplateRenderer
from leakrange.orchestrator.kubernetes.values import target_values
from leakrange.orchestrator.target_kinds.federated_host import (
    FederationJob,
    HostedOutcome,
    ProgressFn,
    StopFn,
)

RUN_COMPONENT = "federation-run"
PARTITIONS = "partitions"
RUN = "run"


def partitions_prefix(exercise_id: str) -> str:
    return f"federation/{exercise_id}/{PARTITIONS}"


def observation_prefix(exercise_id: str) -> str:
    return f"federation/{exercise_id}/{RUN}"


def federation_values(exercise_id: str, clients: int, tokens_secret: str, *,
                      image: str = "", run_name: str = "",
                      run_deadline_s: float | None = None) -> dict[str, Any]:
    """Values of the exercise release while its federation runs (``federation.*``)."""
    federation: dict[str, Any] = {
        "enabled": True, "clients": clients,
        "partitionsPrefix": partitions_prefix(exercise_id),
        "observationPrefix": observation_prefix(exercise_id),
    }
    if image:
        repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] \
            else (image, "", "")
        federation["image"] = {"repository": repository, "tag": tag}
    if run_name:
        federation["run"] = {"name": run_name}
        if run_deadline_s is not None:
            federation["run"]["activeDeadlineSeconds"] = max(1, int(run_deadline_s))
    target = target_values(None, tokens_secret)
    target["tokensSecret"] = tokens_secret_ref(tokens_secret, exercise_id)
    return {"exercise": {"id": exercise_id}, "target": target, "adversaries": [],
            "federation": federation}


def put_run_inputs(store: ArtifactStore, exercise_id: str, job: FederationJob
                   ) -> StoreObservations:
    """Partitions under the partitions prefix (range store only), and the run's settings,
    crafted model and holdout under its observation prefix, cleared of an earlier attempt."""
    out = StoreObservations(store, observation_prefix(exercise_id))
    for name in out.names():  # an earlier attempt's records: this run writes its own
        store.delete_manifest(f"{out.prefix}/{name}")
    prefix = partitions_prefix(exercise_id)
    for k, (x, y) in enumerate(job.partitions):
        data = save_tensors({"x": np.ascontiguousarray(x, dtype=np.float32),
                             "y": np.ascontiguousarray(y, dtype=np.int64)})
        store.publish(f"{prefix}/client-{k}", data, MEDIA_TENSORS)
    out.write_json(SETTINGS, json.loads(job.settings.model_dump_json()))
    if job.crafted is not None:
        out.write_arrays(CRAFTED, job.crafted)
    if job.holdout is not None:
        out.write_arrays(HOLDOUT, job.holdout)
    return out


@dataclass(frozen=True)
class RunJobOutcome:
    succeeded: bool
    reason: str  # the Job's Failed condition, "" when it succeeded


class KubernetesFederation:
    """The federation of one exercise in its namespace (see the module docstring)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        list_pods: Callable[[], list[dict[str, Any]]],
        list_events: Callable[[], list[dict[str, Any]]],
        helm: HelmClient,
        renderer: TemplateRenderer | None,
        chart: str | Path,
        namespace: str,
        exercise_id: str,
        tokens_secret: str,
        *,
        defaults_values: Sequence[Path] = (),
        image: str = "",
        ready_timeout_s: float = 600.0,
        poll_interval_s: float = 1.0,
        unschedulable_grace_s: float = 30.0,
    ) -> None:
        self._batch = client.BatchV1Api(api_client)
        self._net = client.NetworkingV1Api(api_client)
        self._list_pods = list_pods
        self._list_events = list_events
        self._helm = helm
        self._renderer = renderer
        self._chart = Path(chart)
        self.namespace = namespace
        self.exercise_id = exercise_id
        self.release = release_name(exercise_id)
        self._tokens_secret = tokens_secret
        self._defaults = list(defaults_values)
        self._image = image
        self._ready_timeout_s = ready_timeout_s
        self._poll_s = poll_interval_s
        self._grace_s = unschedulable_grace_s
        self._job = ""  # the run Job and policies of the run in progress (for the clean-up)
        self._policies: list[str] = []

    # ------------------------------------------------------------------ run

    def run_federation(self, job: FederationJob, store: ArtifactStore, *,
                       should_stop: StopFn | None = None, progress: ProgressFn | None = None,
                       timeout_s: float = 3600.0) -> HostedOutcome:
        started = time.monotonic()
        clients = job.settings.clients
        if len(job.partitions) != clients:
            raise FailedPrecondition("the federation needs one partition per client")
        out = StoreObservations(store, observation_prefix(self.exercise_id))
        run_name = f"r{secrets.token_hex(3)}"
        values = federation_values(self.exercise_id, clients, self._tokens_secret,
                                   image=self._image)
        run_values = federation_values(self.exercise_id, clients, self._tokens_secret,
                                       image=self._image, run_name=run_name,
                                       run_deadline_s=timeout_s)
        docs = self.render_run(run_values)  # before anything starts: the chart must have it
        try:
            put_run_inputs(store, self.exercise_id, job)
            self._install(values, clients, should_stop)
            ready = time.monotonic()
            outcome = self._run_job(docs, out, job.settings.rounds, clients,
                                    started + timeout_s, should_stop, progress)
        finally:
            self._clean_up(store)
        done = rounds_done(out)
        if not outcome.succeeded:
            raise FailedPrecondition(f"the federation run failed ({outcome.reason}); "
                                     f"finished rounds kept: {done or 'none'}")
        if not out.has(FINAL):
            raise FailedPrecondition(f"the federation ended without a final model; rounds "
                                     f"finished: {done or 'none'}")
        now = time.monotonic()
        return HostedOutcome(out, done, now - started,
                             {"start_pods": ready - started, "run": now - ready})

    # ---------------------------------------------------------------- pods

    def _install(self, values: Mapping[str, Any], clients: int,
                 should_stop: StopFn | None) -> None:
        since = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="leakrange-federation-") as tmp:
            values_file = Path(tmp) / "federation.json"  # JSON is YAML; no secrets in it
            values_file.write_text(json.dumps(values), encoding="utf-8")
            call = self._helm.start_upgrade_install(self.release, self._chart,
                                                    [*self._defaults, values_file],
                                                    self._ready_timeout_s)
            deadline = time.monotonic() + self._ready_timeout_s
            try:
                while True:
                    result = call.poll()
                    view = view_federation(self._list_pods(), self.release, clients,
                                           datetime.now(UTC), self._grace_s)
                    failure = view.failure or next(
                        (f for f in (event_failure(e, self.release, since)
                                     for e in self._list_events()) if f), None)
                    if failure is not None:
                        raise Unavailable(f"the federation did not start: {failure}")
                    if result is not None and not result.ok:
                        raise Unavailable("helm could not install the federation: "
                                          f"{short_error(result.stderr)}")
                    if result is not None and view.ready:
                        return
                    if should_stop is not None and should_stop():
                        raise Cancelled("the federation was stopped")
                    if time.monotonic() > deadline:
                        raise Unavailable(
                            f"the federation did not become ready within "
                            f"{self._ready_timeout_s:.0f} s (waiting for "
                            f"{', '.join(view.waiting) or 'helm'})")
                    call.wait(self._poll_s)
            except BaseException:
                call.kill()
                raise

    # ----------------------------------------------------------------- job

    def render_run(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The chart's run Job and its NetworkPolicy, as ``helm template`` renders them."""
        if self._renderer is None:
            raise Unavailable("this backend's helm client cannot render the federation run")
        with tempfile.TemporaryDirectory(prefix="leakrange-fedrun-") as tmp:
            path = Path(tmp) / "federation-run.json"
            path.write_text(json.dumps(values), encoding="utf-8")
            rendered = self._renderer.template(self.release, self._chart,
                                               [*self._defaults, path])
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        return [d for d in docs if (d.get("metadata", {}).get("labels") or {})
                .get("app.kubernetes.io/component") == RUN_COMPONENT]

    def _run_job(self, docs: list[dict[str, Any]], out: StoreObservations, rounds: int,
                 clients: int, deadline: float, should_stop: StopFn | None,
                 progress: ProgressFn | None) -> RunJobOutcome:
        jobs = [d for d in docs if d["kind"] == "Job"]
        if len(jobs) != 1:
            raise Unavailable("the exercise chart rendered no federation run Job")
        for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
            api_call("create network policy", self._net.create_namespaced_network_policy,
                     self.namespace, cast(Any, policy), ok_statuses=(409,))
        self._policies = [d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"]
        name = jobs[0]["metadata"]["name"]
        self._job = name
        api_call("create job", self._batch.create_namespaced_job, self.namespace, jobs[0])
        seen = -1
        while True:
            # GET jobs/<name> carries the status: the orchestrator's Role grants "jobs", and
            # jobs/status would be a subresource it does not need.
            status = api_call("read job", self._batch.read_namespaced_job, name,
                               self.namespace).status
            states = {c.type: c for c in (getattr(status, "conditions", None) or [])
                      if c.status == "True"}
            if "Complete" in states:
                return RunJobOutcome(True, "")
            if "Failed" in states:
                c = states["Failed"]
                detail = short(c.message) if c.message else ""
                return RunJobOutcome(False, f"run Job {c.reason or 'failed'}"
                                     + (f": {detail}" if detail else ""))
            done = rounds_done(out)
            death = federation_death(self._list_pods(), self.release, clients)
            if death is not None:
                return RunJobOutcome(False, f"{death} during round {len(done) + 1} of {rounds}")
            if progress is not None and len(done) != seen:
                seen = len(done)
                progress(seen, rounds)
            if should_stop is not None and should_stop():
                raise Cancelled("the federation was stopped")
            if time.monotonic() > deadline:
                return RunJobOutcome(False, "it did not finish in time")
            time.sleep(self._poll_s)

    # ------------------------------------------------------------- cleanup

    def _clean_up(self, store: ArtifactStore) -> None:
        """Remove the Job (with its pod), its policy, the release and the partitions' names;
        best effort (``teardown`` uninstalls the release again)."""
        if self._job:
            _quietly(self._batch.delete_namespaced_job, self._job, self.namespace,
                     propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT_S)
        for policy in self._policies:
            _quietly(self._net.delete_namespaced_network_policy, policy, self.namespace,
                     _request_timeout=REQUEST_TIMEOUT_S)
        _quietly(self._helm.uninstall, self.release)
        prefix = partitions_prefix(self.exercise_id)
        for name in store.list_manifests(f"{prefix}/"):
            _quietly(store.delete_manifest, name)
        self._job, self._policies = "", []


def _quietly(fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """A clean-up step whose failure must not hide the run's own outcome."""
    try:
        fn(*args, **kwargs)
    except (client.ApiException, urllib3.exceptions.HTTPError, RangeError):
        return
