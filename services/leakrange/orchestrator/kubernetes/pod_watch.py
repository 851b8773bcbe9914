"""What the pods and events of an exercise say: ready, still coming up, or failed for good.

The classifiers are pure functions over the API's JSON (camelCase dicts, as ``kubectl get -o
json`` prints them). ``follow_rollout`` is the loop ``deploy`` runs while helm installs the
release: it polls the pods and events and stops at the first failure that will not heal by
itself (an image that cannot be pulled, a pod no node can take, a crash loop), so the user gets
that reason at once instead of helm's timeout minutes later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leakrange.orchestrator.kubernetes.helm_runner import HelmCall, HelmResult, short_error
from leakrange.orchestrator.kubernetes.names import COMPONENT_LABEL, FAMILY_LABEL

Obj = Mapping[str, Any]

IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                           "ErrImageNeverPull"})
START_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError",
                           "RunContainerError"})
MAX_DETAIL_CHARS = 160


# ------------------------------------------------------------------ pure helpers


def short(text: str | None, limit: int = MAX_DETAIL_CHARS) -> str:
    """The first sentence of a Kubernetes message, on one line, at most ``limit`` characters."""
    text = " ".join((text or "").split())
    cut = text.find(". ")
    if cut >= 0:
        text = text[: cut + 1]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def component_of(pod: Obj) -> str:
    """``target``, the attack family, or the chart component of a pod."""
    labels = pod.get("metadata", {}).get("labels") or {}
    return str(labels.get(FAMILY_LABEL) or labels.get(COMPONENT_LABEL) or
               pod.get("metadata", {}).get("name", "unknown"))


def is_ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def is_terminating(pod: Obj) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def _container_statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status", {})
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def _crash_detail(container: Obj) -> str:
    last = (container.get("lastState") or {}).get("terminated") or {}
    parts = []
    if last.get("reason") and last.get("reason") != "Error":
        parts.append(str(last["reason"]))
    if last.get("exitCode") is not None:
        parts.append(f"exit code {last['exitCode']}")
    return f" ({', '.join(parts)})" if parts else ""


def container_failure(component: str, container: Obj) -> str | None:
    """The reason a container will not come up by itself, or ``None``."""
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason in IMAGE_REASONS:
        image = container.get("image")
        return f"image for {component} cannot be pulled" + (f": {image}" if image else "")
    if reason == "CrashLoopBackOff":
        return f"{component} keeps crashing{_crash_detail(container)}"
    if reason in START_REASONS:
        detail = short(waiting.get("message"))
        return f"{component} cannot start: {reason}" + (f": {detail}" if detail else "")
    return None


def unschedulable(pod: Obj, now: datetime, grace_s: float) -> str | None:
    """``pod X cannot be scheduled: ...`` once the scheduler has refused it for ``grace_s``."""
    for condition in pod.get("status", {}).get("conditions") or []:
        if (condition.get("type") == "PodScheduled" and condition.get("status") == "False"
                and condition.get("reason") == "Unschedulable"):
            since = parse_time(condition.get("lastTransitionTime")) or now
            if (now - since).total_seconds() >= grace_s:
                detail = short(condition.get("message")) or "no node fits"
                return f"pod {component_of(pod)} cannot be scheduled: {detail}"
    return None


def pod_failure(pod: Obj, now: datetime, unschedulable_grace_s: float = 0.0) -> str | None:
    """Why a pod that is coming up never will, or ``None`` while it may still make it."""
    component = component_of(pod)
    if pod.get("status", {}).get("phase") == "Failed":
        reason = pod.get("status", {}).get("reason") or "unknown reason"
        return f"pod {component} failed: {reason}"
    for container in _container_statuses(pod):
        failure = container_failure(component, container)
        if failure is not None:
            return failure
    return unschedulable(pod, now, unschedulable_grace_s)


def pod_death(pod: Obj) -> str | None:
    """Why a pod that was serving is no longer, or ``None`` (``check`` after the deploy)."""
    component = component_of(pod)
    if pod.get("status", {}).get("phase") == "Failed":
        reason = pod.get("status", {}).get("reason") or "unknown reason"
        return f"pod {component} failed: {reason}"
    for container in _container_statuses(pod):
        terminated = (container.get("state") or {}).get("terminated") or {}
        code = terminated.get("exitCode")
        if code not in (None, 0):
            reason = terminated.get("reason")
            extra = f", {reason}" if reason and reason != "Error" else ""
            return f"{component} terminated (exit code {code}{extra})"
        failure = container_failure(component, container)
        if failure is not None:
            return failure
    return None


def event_failure(event: Obj, release: str, since: datetime) -> str | None:
    """A controller that cannot create an exercise pod (e.g. a quota): ``FailedCreate``."""
    involved = event.get("involvedObject") or {}
    name = str(involved.get("name") or "")
    if (event.get("type") != "Warning" or event.get("reason") != "FailedCreate"
            or not name.startswith(release + "-")):
        return None
    when = (parse_time(event.get("lastTimestamp")) or parse_time(event.get("eventTime"))
            or parse_time(event.get("metadata", {}).get("creationTimestamp")))
    if when is not None and when < since:
        return None  # left over from an earlier deployment of the same exercise
    component = name[len(release) + 1:]
    if involved.get("kind") == "ReplicaSet" and "-" in component:
        component = component.rsplit("-", 1)[0]  # drop the pod-template hash
    return f"cannot create the pod of {component}: {short(event.get('message'))}"


@dataclass(frozen=True)
class PodsView:
    """The exercise's pods at one moment."""

    failure: str | None
    ready: bool  # every expected component has a ready pod
    waiting: tuple[str, ...]  # "component: what it waits for", for the timeout message


def view_pods(pods: Iterable[Obj], expected: Sequence[str], now: datetime,
              unschedulable_grace_s: float = 0.0) -> PodsView:
    live = [p for p in pods if not is_terminating(p)]
    for pod in live:
        failure = pod_failure(pod, now, unschedulable_grace_s)
        if failure is not None:
            return PodsView(failure, False, ())
    waiting = []
    for component in expected:
        mine = [p for p in live if component_of(p) == component]
        if not any(is_ready(p) for p in mine):
            waiting.append(f"{component}: {_waiting_for(mine)}")
    return PodsView(None, not waiting, tuple(waiting))


def _waiting_for(pods: Sequence[Obj]) -> str:
    if not pods:
        return "no pod yet"
    for container in _container_statuses(pods[0]):
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return str(pods[0].get("status", {}).get("phase") or "Pending")


# ------------------------------------------------------------------ the loop


@dataclass(frozen=True)
class RolloutOutcome:
    """How a deploy ended: ``failure`` is ``None`` on success."""

    failure: str | None
    helm: HelmResult | None  # None when helm was stopped before it finished


def follow_rollout(
    helm: HelmCall,
    list_pods: Callable[[], list[dict[str, Any]]],
    list_events: Callable[[], list[dict[str, Any]]],
    *,
    release: str,
    expected: Sequence[str],
    timeout_s: float,
    poll_interval_s: float = 1.0,
    unschedulable_grace_s: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutOutcome:
    """Follow ``helm upgrade --install --wait`` and the exercise's pods until one decides.

    Success: helm succeeded and every expected component has a ready pod. Failure: the first
    pod or event failure (helm is killed), helm failing, or ``timeout_s`` passing.
    """
    started = datetime.now(UTC)
    deadline = clock() + timeout_s
    view = PodsView(None, False, ())
    while True:
        result = helm.poll()
        view = view_pods(list_pods(), expected, datetime.now(UTC), unschedulable_grace_s)
        failure = view.failure or next(
            (f for f in (event_failure(e, release, started) for e in list_events()) if f), None)
        if failure is not None:
            helm.kill()
            return RolloutOutcome(failure, helm.poll())
        if result is not None:
            if not result.ok:
                return RolloutOutcome(
                    f"helm could not install the exercise: {short_error(result.stderr)}", result)
            if view.ready:
                return RolloutOutcome(None, result)
            return RolloutOutcome("helm finished but services are not ready ("
                                  + "; ".join(view.waiting) + ")", result)
        if clock() >= deadline:
            helm.kill()
            waiting = "; ".join(view.waiting) or "helm still installing"
            return RolloutOutcome(
                f"services did not become ready within {timeout_s:.0f} s ({waiting})", None)
        helm.wait(poll_interval_s)

