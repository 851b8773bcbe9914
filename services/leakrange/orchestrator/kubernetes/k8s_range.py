"""``KubernetesBackend``: each exercise as one Helm release of ``leakrange-exercise``.

``deploy`` puts the exercise's tokens into the range's one tokens Secret (keys
``<id>.client-tokens`` for the target, ``<id>.service-token`` for the adversary services; one
named Secret, so the orchestrator's Role names it instead of granting every Secret), then runs
``helm upgrade --install --wait`` with the control plane's defaults and the exercise's values
while it follows the pods: an image that cannot be pulled, a pod no node can take (e.g. no free
GPU) or a crash loop ends the deploy at once with that reason; on any failure the release and the
keys are removed. helm keeps its release records in ConfigMaps (``HelmRunner``'s driver): they
hold rendered manifests and values, never a token, and Secrets with generated names would need a
Role on every Secret. Readiness is the pods' native gRPC health probe, so a ready pod answers
health checks.

The orchestrator reaches the services through their ClusterIP Services
(``ex-<id>-target.<ns>.svc:50051``, ``ex-<id>-<family>.<ns>.svc:50051``), as the chart's
NetworkPolicies allow. ``cleanup_orphans`` removes every exercise release, tokens key and
reference-training Job of the namespace: at start-up, no exercise of this orchestrator runs yet.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from leakrange.common.errors import InvalidArgument, RangeError, Unavailable
from leakrange.orchestrator.backend import Deployment, RangeBackend, TargetDeploySpec
from leakrange.orchestrator.kubernetes.api_objects import (
    delete_exercise_objects,
    delete_orphan_objects,
)
from leakrange.orchestrator.kubernetes.cluster import ExerciseCluster, load_api_client
from leakrange.orchestrator.kubernetes.federation_run import KubernetesFederation
from leakrange.orchestrator.kubernetes.helm_runner import HelmClient, HelmRunner
from leakrange.orchestrator.kubernetes.names import (
    DEFAULT_TOKENS_SECRET,
    check_exercise_id,
    exercise_of_release,
    release_name,
    service_address,
)
from leakrange.orchestrator.kubernetes.placement_config import ExercisePods, load_exercise_pods
from leakrange.orchestrator.kubernetes.pod_watch import (
    component_of,
    follow_rollout,
    is_terminating,
    pod_death,
)
from leakrange.orchestrator.kubernetes.reference_jobs import (
    ReferenceJobs,
    TemplateRenderer,
    reference_training_enabled,
)
from leakrange.orchestrator.kubernetes.values import PodPlacement, render_values

if TYPE_CHECKING:
    from leakrange.orchestrator.settings import OrchestratorSettings

log = logging.getLogger(__name__)

EXERCISE_CHART_NAME = "leakrange-exercise"
# Pulling a CUDA attack image onto a fresh node takes minutes: the deploy deadline is never
# shorter than this, whatever the (local-range) ready timeout says.
MIN_DEPLOY_TIMEOUT_S = 600.0


def client_tokens_value(tokens: Mapping[str, str]) -> str:
    """``principal:token,...`` as the target reads it (LEAKRANGE_CLIENT_TOKENS)."""
    for principal, token in tokens.items():
        if not principal or not token or any(c in principal + token for c in ",: "):
            raise InvalidArgument("tokens", "must not be empty or contain ',', ':' or spaces")
    return ",".join(f"{p}:{t}" for p, t in tokens.items())


class KubernetesBackend(RangeBackend):
    """One Helm release per exercise (see the module docstring)."""

    name = "kubernetes"

    def __init__(
        self,
        cluster: ExerciseCluster,
        helm: HelmClient,
        chart: str | Path,
        *,
        defaults_values: str | Path | None = None,
        deploy_timeout_s: float = MIN_DEPLOY_TIMEOUT_S,
        poll_interval_s: float = 1.0,
        unschedulable_grace_s: float = 30.0,
        adversary_pods: Mapping[str, PodPlacement] | None = None,
        default_adversary_pod: PodPlacement | None = None,
        target_pod: PodPlacement | None = None,
        tokens_secret: str = DEFAULT_TOKENS_SECRET,
        federation_image: str = "",
    ) -> None:
        self._cluster = cluster
        self._tokens_secret = tokens_secret
        self._helm = helm
        self._chart = Path(chart)
        self._defaults = Path(defaults_values) if defaults_values else None
        self._timeout_s = deploy_timeout_s
        self._poll_s = poll_interval_s
        self._grace_s = unschedulable_grace_s
        self._adversary_pods = dict(adversary_pods or {})
        self._default_adversary_pod = default_adversary_pod
        self._target_pod = target_pod
        self._federation_image = federation_image  # "" = the chart's (or defaults') image
        self._deployed: set[str] = set()
        self._values: dict[str, dict[str, object]] = {}  # exercise id -> its release values
        self._lock = threading.Lock()

    @property
    def namespace(self) -> str:
        return self._cluster.namespace

    @classmethod
    def from_settings(cls, settings: OrchestratorSettings) -> KubernetesBackend:
        """In a pod: its service account and namespace settings; elsewhere: the kubeconfig."""
        chart = settings.exercise_chart
        if chart is None or not Path(chart).exists():
            raise InvalidArgument("exercise_chart", "the leakrange-exercise chart is required "
                                  "for the kubernetes backend (--exercise-chart)")
        if settings.exercise_values is not None and not Path(settings.exercise_values).is_file():
            raise InvalidArgument("exercise_values", "no file at this path")
        pods = load_exercise_pods(settings.exercise_pods) if settings.exercise_pods \
            else ExercisePods()
        cluster = ExerciseCluster(load_api_client(), settings.namespace)
        return cls(
            cluster, HelmRunner(settings.helm_bin, settings.namespace,
                                driver=settings.helm_driver), chart,
            defaults_values=settings.exercise_values,
            deploy_timeout_s=max(settings.ready_timeout, MIN_DEPLOY_TIMEOUT_S),
            adversary_pods=pods.adversaries, default_adversary_pod=pods.default_adversary,
            target_pod=pods.target, tokens_secret=settings.tokens_secret,
        )

    # ------------------------------------------------------------------ deploy

    def deploy(
        self,
        exercise_id: str,
        target: TargetDeploySpec | None,
        families: Sequence[str],
        tokens: Mapping[str, str],
    ) -> Deployment:
        release = release_name(exercise_id)
        secret = self._tokens_secret
        values = render_values(
            exercise_id, target, families, secret, adversary_pods=self._adversary_pods,
            default_adversary_pod=self._default_adversary_pod, target_pod=self._target_pod,
        )
        client_tokens = client_tokens_value(tokens)
        service_token = secrets.token_urlsafe(24)
        with self._lock:
            if exercise_id in self._deployed:
                raise InvalidArgument("exercise", "already deployed")
            self._deployed.add(exercise_id)
            self._values[exercise_id] = values
        try:
            self._cluster.put_exercise_tokens(secret, exercise_id, client_tokens, service_token)
            components = [*(["target"] if target is not None else []), *families]
            self._install(exercise_id, release, values, components)
        except BaseException:
            self.teardown(exercise_id)
            raise
        ns = self.namespace
        return Deployment(
            exercise_id=exercise_id,
            target_address=service_address(exercise_id, "target", ns) if target else "",
            attack_addresses={f: service_address(exercise_id, f, ns) for f in families},
            attack_token=service_token,
            details={"namespace": ns, "release": release, "tokens_secret": secret},
        )

    def _install(self, exercise_id: str, release: str, values: dict[str, object],
                 expected: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="leakrange-helm-") as tmp:
            values_file = Path(tmp) / "values.json"  # JSON is YAML; no secrets in it
            values_file.write_text(json.dumps(values), encoding="utf-8")
            files = [*([self._defaults] if self._defaults else []), values_file]
            call = self._helm.start_upgrade_install(release, self._chart, files, self._timeout_s)
            try:
                outcome = follow_rollout(
                    call, lambda: self._cluster.pods(exercise_id), self._cluster.warning_events,
                    release=release, expected=expected, timeout_s=self._timeout_s,
                    poll_interval_s=self._poll_s, unschedulable_grace_s=self._grace_s,
                )
            except BaseException:
                call.kill()
                raise
        if outcome.failure is not None:
            log.warning("exercise deploy failed", extra={"exercise": exercise_id,
                                                         "reason": outcome.failure})
            raise Unavailable(outcome.failure)

    # ------------------------------------------------------- reference training

    def reference_jobs(self, exercise_id: str, renderer: TemplateRenderer | None = None,
                       **options: Any) -> ReferenceJobs:
        """Reference-training Indexed Jobs for a deployed exercise, rendered from its own
        release values (``reference_jobs``); ``renderer`` defaults to this backend's helm."""
        with self._lock:
            values = self._values.get(exercise_id)
        if values is None:
            raise InvalidArgument("exercise", "is not deployed by this backend")
        helm = renderer if renderer is not None else self._helm
        if not hasattr(helm, "template"):
            raise Unavailable("this backend's helm client cannot render templates")
        files: list[Path | dict[str, object]] = [*([self._defaults] if self._defaults else []),
                                                 values]
        return ReferenceJobs(self._cluster.api_client, cast(TemplateRenderer, helm), self._chart,
                             self.namespace, release_name(exercise_id), files, **options)

    def reference_fanout(self, exercise_id: str, should_stop: Callable[[], bool]
                         ) -> ReferenceJobs | None:
        """``reference_jobs`` for the exercise when the control plane's exercise defaults
        enable ``referenceTraining`` (the runner then offers the fan-out to its attacks); the
        Job's status is polled as often as the pods' during a deploy."""
        if self._defaults is None or not reference_training_enabled([self._defaults]):
            return None
        return self.reference_jobs(exercise_id, should_stop=should_stop,
                                   poll_interval_s=self._poll_s)

    # ------------------------------------------------------------- federation

    def federation_host(self, exercise_id: str) -> KubernetesFederation:
        """A ``target.federated`` run in the cluster for ``exercise_id`` (``federation_run``):
        SuperLink and SuperNode pods of its release, the run as a Job rendered by helm."""
        check_exercise_id(exercise_id)
        renderer = cast(TemplateRenderer, self._helm) if hasattr(self._helm, "template") \
            else None
        return KubernetesFederation(
            self._cluster.api_client, lambda: self._cluster.pods(exercise_id),
            self._cluster.warning_events, self._helm, renderer,
            self._chart, self.namespace, exercise_id, self._tokens_secret,
            defaults_values=[self._defaults] if self._defaults else [],
            image=self._federation_image, ready_timeout_s=self._timeout_s,
            poll_interval_s=self._poll_s, unschedulable_grace_s=self._grace_s)

    # ------------------------------------------------------------------ watch

    def check(self, deployment: Deployment) -> str | None:
        try:
            pods = self._cluster.pods(deployment.exercise_id)
        except RangeError:
            log.warning("could not list the exercise pods", exc_info=True)
            return None  # the API server may be back at the next poll; pods are not dead
        live = [p for p in pods if not is_terminating(p)]
        for pod in live:
            death = pod_death(pod)
            if death is not None:
                return death
        present = {component_of(p) for p in live}
        targets = ["target"] if deployment.target_address else []
        for component in [*targets, *deployment.attack_addresses]:
            if component not in present:
                return f"the pod of {component} is gone"
        return None

    # --------------------------------------------------------------- teardown

    def teardown(self, exercise_id: str) -> None:
        """Uninstall the release, remove its tokens keys and the Jobs and NetworkPolicies
        created for it through the API (``api_objects``); failures are logged (the next
        ``cleanup_orphans`` retries them), never raised."""
        with self._lock:
            self._deployed.discard(exercise_id)
            self._values.pop(exercise_id, None)
        try:
            release = release_name(exercise_id)
        except InvalidArgument:
            return  # no release can have this name
        try:
            self._helm.uninstall(release)
        except RangeError:
            log.warning("could not uninstall an exercise release", exc_info=True,
                        extra={"exercise": exercise_id})
        try:
            self._cluster.delete_exercise_tokens(self._tokens_secret, exercise_id)
        except RangeError:
            log.warning("could not remove an exercise's tokens", exc_info=True,
                        extra={"exercise": exercise_id})
        try:
            delete_exercise_objects(self._cluster.api_client, self.namespace, exercise_id)
        except RangeError:
            log.warning("could not remove an exercise's Jobs and policies", exc_info=True,
                        extra={"exercise": exercise_id})

    def close(self) -> None:
        with self._lock:
            ids = sorted(self._deployed)
        for exercise_id in ids:
            self.teardown(exercise_id)

    # ---------------------------------------------------------------- orphans

    def cleanup_orphans(self) -> list[str]:
        with self._lock:
            mine = set(self._deployed)
        cleaned: set[str] = set()
        for release in self._helm.list_releases("ex-", chart=EXERCISE_CHART_NAME):
            exercise_id = exercise_of_release(release)
            if exercise_id is None or exercise_id in mine:
                continue
            self._helm.uninstall(release)
            cleaned.add(exercise_id)
        for exercise_id in sorted(self._cluster.exercises_with_tokens(self._tokens_secret)):
            if exercise_id in mine:
                continue
            self._cluster.delete_exercise_tokens(self._tokens_secret, exercise_id)
            cleaned.add(exercise_id)
        # Reference-training and federation-run Jobs and their NetworkPolicies are created
        # through the API, not by helm: no release holds them.
        cleaned |= delete_orphan_objects(self._cluster.api_client, self.namespace, mine)
        return sorted(cleaned)
