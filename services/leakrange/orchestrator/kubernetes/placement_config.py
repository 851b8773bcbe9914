"""Where exercise pods run: GPUs, resources, node selectors, tolerations, runtime class.

Platform teams set this once for the cluster (the control-plane chart's
``orchestrator.exercise.pods`` value, mounted as ``exercise-pods.yaml`` and named by
``LEAKRANGE_EXERCISE_PODS``)::

    target: {resources: {requests: {cpu: "1", memory: 2Gi}, limits: {cpu: "2", memory: 4Gi}}}
    adversaries:
      default: {gpu: 0}
      mia: {gpu: 1, runtimeClassName: nvidia, nodeSelector: {nvidia.com/gpu.present: "true"},
            tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leakrange.common.errors import InvalidArgument
from leakrange.orchestrator.kubernetes.values import DEFAULT_ADVERSARY_RESOURCES, PodPlacement

PodKey = Literal["default", "mia", "inversion", "federated", "synthetic"]


class _Amounts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpu: str
    memory: str


class _Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: _Amounts
    limits: _Amounts


class _Placement(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    gpu: int = Field(default=0, ge=0, le=16)
    resources: _Resources | None = None
    node_selector: dict[str, str] = Field(default_factory=dict, alias="nodeSelector")
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    runtime_class_name: str = Field(default="", alias="runtimeClassName")
    image: str = ""

    def placement(self) -> PodPlacement:
        resources = self.resources.model_dump() if self.resources else DEFAULT_ADVERSARY_RESOURCES
        return PodPlacement(
            gpu=self.gpu, resources=resources, node_selector=self.node_selector,
            tolerations=tuple(self.tolerations), runtime_class_name=self.runtime_class_name,
            image=self.image,
        )


class _ExercisePods(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: _Placement | None = None
    adversaries: dict[PodKey, _Placement] = Field(default_factory=dict)


@dataclass(frozen=True)
class ExercisePods:
    target: PodPlacement | None = None
    default_adversary: PodPlacement | None = None
    adversaries: dict[str, PodPlacement] = field(default_factory=dict)


def parse_exercise_pods(doc: Any) -> ExercisePods:
    """Validate a placement document; errors name the path, e.g. ``adversaries.mia.gpu``."""
    try:
        parsed = _ExercisePods.model_validate(doc or {})
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "exercise_pods"
        raise InvalidArgument(f"exercise_pods.{path}", first["msg"]) from None
    if parsed.target is not None and parsed.target.image:
        raise InvalidArgument("exercise_pods.target.image", "the target image is the range image")
    families: dict[str, PodPlacement] = {
        str(k): v.placement() for k, v in parsed.adversaries.items() if k != "default"
    }
    default = parsed.adversaries.get("default")
    return ExercisePods(
        target=parsed.target.placement() if parsed.target else None,
        default_adversary=default.placement() if default else None,
        adversaries=families,
    )


def load_exercise_pods(path: str | Path) -> ExercisePods:
    file = Path(path)
    if not file.is_file():
        raise InvalidArgument("exercise_pods", "no file at this path")
    try:
        doc = yaml.safe_load(file.read_text())
    except yaml.YAMLError:
        raise InvalidArgument("exercise_pods", "not valid YAML") from None
    return parse_exercise_pods(doc)
