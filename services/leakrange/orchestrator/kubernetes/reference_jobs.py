"""Reference-model training fanned out over the cluster as Kubernetes Indexed Jobs.

For one exercise, ``ReferenceJobs.train_shards(task, shards)`` renders the exercise chart's
``referenceTraining`` objects with the real ``helm template`` (the exercise's own values plus
one Job item: the task document's reference and ``completions = shards``), creates the Job and
its NetworkPolicy through the Kubernetes API, and follows the Job's status until it completes or
fails: Kubernetes retries a failed pod for its index alone (``backoffLimitPerIndex``) and each
pod skips a shard that is already stored, so a retry resumes from the shards in the store. The
Job is deleted (with its pods) when it is done, whatever the outcome; the caller then reads the
shards from the store and trains any that are missing itself. The Job pods see the adversary's
store identity only (the chart's template), so the adversary's data reaches them through the
adversary's store and nothing else.

It implements ``leakrange.attacks.mia.reference_task.ReferenceFanout`` and the orchestrator's
``reference_fanout.ShardJobs``: the runner drives it when an attack asks on its Run stream.
The fan-out is on when the control plane's defaults for every exercise release (its
``exercise-values.yaml``) enable ``referenceTraining`` (``reference_training_enabled``).
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import yaml
from kubernetes import client

from leakrange.common.errors import Cancelled, InvalidArgument, Unavailable
from leakrange.orchestrator.kubernetes.api_call import api_call

COMPONENT = "reference-training"


class TemplateRenderer(Protocol):
    def template(self, release: str, chart: Path, values_files: Sequence[Path],
                 kube_version: str | None = None) -> str: ...


@dataclass(frozen=True)
class JobOutcome:
    """How an Indexed Job ended: the indexes that succeeded and those that failed for good."""

    name: str
    completed: frozenset[int]
    failed: frozenset[int]
    succeeded: bool


def reference_training_enabled(values: Sequence[Mapping[str, Any] | Path]) -> bool:
    """True when the merged release values (later files win) set
    ``referenceTraining.enabled: true``, as ``helm -f`` would merge them."""
    enabled = False
    for item in values:
        doc = item if not isinstance(item, Path) else \
            yaml.safe_load(item.read_text(encoding="utf-8")) or {}
        section = doc.get("referenceTraining") if isinstance(doc, Mapping) else None
        if isinstance(section, Mapping) and "enabled" in section:
            enabled = section["enabled"] is True
    return enabled


def delete_job(batch: client.BatchV1Api, name: str, namespace: str) -> None:
    """Delete a Job with its pods; one already gone is fine."""
    api_call("delete job", batch.delete_namespaced_job, name, namespace, ok_statuses=(404,),
             propagation_policy="Background")


def parse_indexes(text: str | None) -> frozenset[int]:
    """``"0-2,5"`` (a Job's ``completedIndexes`` / ``failedIndexes``) -> {0, 1, 2, 5}."""
    found: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise Unavailable("kubernetes API: a Job reported indexes it cannot have")
        found.update(range(int(first), int(last or first) + 1))
    return frozenset(found)


class ReferenceJobs:
    """Runs reference-training Indexed Jobs for one exercise release (see the module doc)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        helm: TemplateRenderer,
        chart: str | Path,
        namespace: str,
        release: str,
        values: Sequence[Mapping[str, Any] | Path],
        *,
        parallelism: int | None = None,
        timeout_s: float = 6 * 3600.0,
        poll_interval_s: float = 2.0,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self._batch = client.BatchV1Api(api_client)
        self._net = client.NetworkingV1Api(api_client)
        self._helm = helm
        self._chart = Path(chart)
        self.namespace = namespace
        self._release = release
        self._values = list(values)
        self._parallelism = parallelism
        self._timeout_s = timeout_s
        self._poll_s = poll_interval_s
        self._should_stop = should_stop
        self._names = itertools.count()

    @property
    def timeout_s(self) -> float:
        """Longest ``run`` follows one Job before it counts it as failed."""
        return self._timeout_s

    # ----------------------------------------------------------------- render

    def render(self, job_name: str, task: str, shards: int) -> list[dict[str, Any]]:
        """The chart's Job and NetworkPolicy for one task, as ``helm template`` renders them."""
        if shards < 1:
            raise InvalidArgument("shards", "must be at least 1")
        item: dict[str, Any] = {"name": job_name, "task": task, "shards": shards}
        if self._parallelism is not None:
            item["parallelism"] = self._parallelism
        with tempfile.TemporaryDirectory(prefix="leakrange-refjob-") as tmp:
            files: list[Path] = []
            for i, values in enumerate(self._values):
                if isinstance(values, Path):
                    files.append(values)
                    continue
                path = Path(tmp) / f"values-{i}.json"  # JSON is YAML; no secrets in it
                path.write_text(json.dumps(values), encoding="utf-8")
                files.append(path)
            job_values = Path(tmp) / "reference-job.json"
            job_values.write_text(json.dumps(
                {"referenceTraining": {"enabled": True, "jobs": [item]}}), encoding="utf-8")
            rendered = self._helm.template(self._release, self._chart, [*files, job_values])
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        return [d for d in docs if (d.get("metadata", {}).get("labels") or {})
                .get("app.kubernetes.io/component") == COMPONENT]

    # -------------------------------------------------------------------- run

    def train_shards(self, task: str, shards: int) -> None:
        """``ReferenceFanout``: run one Job for the task and wait for it (any outcome)."""
        self.run(task, shards)

    def run(self, task: str, shards: int) -> JobOutcome:
        """Create the Job for ``task`` (``shards`` completion indexes), wait, delete it."""
        job_name = f"t{next(self._names)}-{task.removeprefix('sha256:')[:8]}"
        docs = self.render(job_name, task, shards)
        jobs = [d for d in docs if d["kind"] == "Job"]
        if len(jobs) != 1:
            raise Unavailable("the exercise chart rendered no reference-training Job")
        policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
        for policy in policies:
            api_call("create network policy", self._net.create_namespaced_network_policy,
                     self.namespace, cast(Any, policy), ok_statuses=(409,))
        name = jobs[0]["metadata"]["name"]
        api_call("create job", self._batch.create_namespaced_job, self.namespace, jobs[0])
        try:
            return self._follow(name, shards)
        finally:
            delete_job(self._batch, name, self.namespace)

    def _follow(self, name: str, shards: int) -> JobOutcome:
        deadline = time.monotonic() + self._timeout_s
        while True:
            if self._should_stop is not None and self._should_stop():
                raise Cancelled("reference training cancelled")
            job = api_call("read job", self._batch.read_namespaced_job, name,
                           self.namespace)
            status = job.status
            completed = parse_indexes(getattr(status, "completed_indexes", None))
            failed = parse_indexes(getattr(status, "failed_indexes", None))
            states = {c.type for c in (status.conditions or []) if c.status == "True"} \
                if status is not None else set()
            if "Complete" in states or len(completed) >= shards:
                return JobOutcome(name, completed, failed, True)
            if "Failed" in states:
                return JobOutcome(name, completed, failed, False)
            if time.monotonic() > deadline:
                return JobOutcome(name, completed, failed, False)
            time.sleep(self._poll_s)

