"""Values of one ``leakrange-exercise`` release, from what the orchestrator knows of the exercise.

Only the exercise-specific part is rendered here; the control plane's defaults (store URL and
credentials, images, network-policy peers) come from its ``exercise-values.yaml``, passed to helm
before these values. No token ever goes into the values: the tokens live in the Secret named by
``target.tokensSecret.name`` (one Secret for every exercise, two keys each, which the orchestrator
fills), under the keys ``target.tokensSecret.clientTokensKey`` / ``serviceTokenKey``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leakrange.common.errors import InvalidArgument
from leakrange.common.query_budget import budget_is_limited
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.kubernetes.names import check_exercise_id, tokens_secret_ref
from leakrange.target.endpoint_host import credentials_key

FAMILIES = ("mia", "inversion", "federated", "synthetic")

DEFAULT_ADVERSARY_RESOURCES: Mapping[str, Mapping[str, str]] = {
    "requests": {"cpu": "1", "memory": "2Gi"},
    "limits": {"cpu": "2", "memory": "4Gi"},
}


@dataclass(frozen=True)
class PodPlacement:
    """Resources and scheduling of one exercise pod (chart keys in brackets)."""

    gpu: int = 0  # [gpu] whole nvidia.com/gpu count, in requests and limits
    resources: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: DEFAULT_ADVERSARY_RESOURCES)  # [resources]
    node_selector: Mapping[str, str] = field(default_factory=dict)  # [nodeSelector]
    tolerations: Sequence[Mapping[str, Any]] = ()  # [tolerations]
    runtime_class_name: str = ""  # [runtimeClassName], e.g. nvidia
    image: str = ""  # [image] adversaries only; "" = the family's default image

    def __post_init__(self) -> None:
        if self.gpu < 0:
            raise InvalidArgument("gpu", "must be a non-negative integer")
        if not (self.resources.get("requests") and self.resources.get("limits")):
            raise InvalidArgument("resources", "needs requests and limits")

    def to_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "gpu": self.gpu,
            "resources": {kind: dict(amounts) for kind, amounts in self.resources.items()},
        }
        if self.node_selector:
            values["nodeSelector"] = dict(self.node_selector)
        if self.tolerations:
            values["tolerations"] = [dict(t) for t in self.tolerations]
        if self.runtime_class_name:
            values["runtimeClassName"] = self.runtime_class_name
        return values


def target_values(target: TargetDeploySpec | None, tokens_secret_name: str) -> dict[str, Any]:
    """``target.*``: the model and the access policy the target enforces; ``enabled: false``
    (no target pod) for a target kind that deploys none."""
    if target is None:
        return {"enabled": False, "tokensSecret": {"name": tokens_secret_name}}
    access = target.access
    return {
        "enabled": True,
        "model": target.model,
        "output": access.output,
        "topK": access.top_k,
        "rounding": access.rounding,
        "queryBudget": access.query_budget if budget_is_limited(access.query_budget) else None,
        "whiteBox": access.white_box,
        "tokensSecret": {"name": tokens_secret_name},
        **({"endpoint": {"credentialsSecret": target.credentials_secret,
                         "credentialsKey": credentials_key(target.credentials_secret)}}
           if target.credentials_secret else {}),
    }


def render_values(
    exercise_id: str,
    target: TargetDeploySpec | None,
    families: Sequence[str],
    tokens_secret_name: str,
    *,
    adversary_pods: Mapping[str, PodPlacement] | None = None,
    default_adversary_pod: PodPlacement | None = None,
    target_pod: PodPlacement | None = None,
) -> dict[str, Any]:
    """Values of the exercise release: the exercise id, the target under its access policy and
    one adversary per family (``adversary_pods[family]``, else ``default_adversary_pod``)."""
    check_exercise_id(exercise_id)
    if not families:
        raise InvalidArgument("families", "at least one attack family is needed")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise InvalidArgument("families", "must be mia, inversion, federated or synthetic")
    if len(set(families)) != len(families):
        raise InvalidArgument("families", "each family at most once")
    pods = adversary_pods or {}
    default_pod = default_adversary_pod or PodPlacement()
    adversaries = []
    for family in families:
        pod = pods.get(family, default_pod)
        item: dict[str, Any] = {"family": family, **pod.to_values()}
        if pod.image:
            item["image"] = pod.image
        adversaries.append(item)
    values: dict[str, Any] = {
        "exercise": {"id": exercise_id},
        "target": target_values(target, tokens_secret_name),
        "adversaries": adversaries,
    }
    values["target"]["tokensSecret"] = tokens_secret_ref(tokens_secret_name, exercise_id)
    if target_pod is not None and target is not None:
        values["target"].update(target_pod.to_values())
    return values
