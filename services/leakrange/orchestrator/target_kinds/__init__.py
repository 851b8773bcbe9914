"""Target kinds: one module per ``target:`` key of the exercise spec (see ``base.py``).

Adding a kind is one module here and one entry in ``TARGET_KINDS``; the spec model, the
runner and the spec checks pick it up from this tuple.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leakrange.common.errors import InvalidArgument
from leakrange.orchestrator.target_kinds.base import (
    AdversaryView,
    PrepareContext,
    PreparedTarget,
    TargetKind,
)
from leakrange.orchestrator.target_kinds.endpoint import EndpointKind
from leakrange.orchestrator.target_kinds.federated import FederatedKind
from leakrange.orchestrator.target_kinds.imported import ImportedKind
from leakrange.orchestrator.target_kinds.model_target import ModelTarget
from leakrange.orchestrator.target_kinds.stored_model import StoredModelKind
from leakrange.orchestrator.target_kinds.synthetic import SyntheticKind
from leakrange.orchestrator.target_kinds.text import TextKind, TextTarget
from leakrange.orchestrator.target_kinds.train import TrainKind, TrainTarget

TARGET_KINDS: tuple[type[TargetKind], ...] = (
    StoredModelKind, TrainKind, ImportedKind, EndpointKind, SyntheticKind, TextKind,
    FederatedKind,
)


def target_kind(name: str) -> type[TargetKind]:
    for kind in TARGET_KINDS:
        if kind.name == name:
            return kind
    raise InvalidArgument("target", f"unknown target kind (available: {kind_names()})")


def kind_names() -> str:
    names = sorted(k.name for k in TARGET_KINDS)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def resolve(target: BaseModel) -> tuple[type[TargetKind], Any]:
    """The kind a ``TargetSpec`` holds, and its part of the spec."""
    for kind in TARGET_KINDS:
        part = getattr(target, kind.name, None)
        if part is not None:
            return kind, part
    raise InvalidArgument("target", f"give exactly one of {kind_names()}")


__all__ = [
    "TARGET_KINDS",
    "AdversaryView",
    "EndpointKind",
    "FederatedKind",
    "ImportedKind",
    "ModelTarget",
    "PrepareContext",
    "PreparedTarget",
    "StoredModelKind",
    "SyntheticKind",
    "TargetKind",
    "TextKind",
    "TextTarget",
    "TrainKind",
    "TrainTarget",
    "kind_names",
    "resolve",
    "target_kind",
]
