"""What a target kind is: how the range builds or imports a target, what of it is ground truth,
what it asks the backend to deploy, and what the adversaries are handed.

A kind owns the spec model of its key under ``target:`` in the exercise file (``train``,
``model``; next ``synthetic``, ``federated``, ``endpoint`` ...). The runner resolves the kind
from the spec and asks it; it never branches on which kind it is.

``prepare`` returns a ``PreparedTarget``: the backend's deployment request, the adversary view
(the only data that leaves the range side) with the ground truth the scorers need, and the
target's description for the report. Ground truth is keyed by result kind (``membership`` ...)
so each scorer finds its own part.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from leakrange.artifacts import ArtifactStore
from leakrange.common.errors import FailedPrecondition
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.v1 import attack_pb2

if TYPE_CHECKING:
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.orchestrator.target_kinds.federated_host import FederationHost
    from leakrange.report.schema import TargetInfo

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]
Problems = list[tuple[str, str]]


def name_or_mapping(value: Any, what: str) -> str | dict[str, Any]:
    """A model field of a target spec: a (stripped) zoo name or an inline spec mapping."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict):
        return value
    raise ValueError(f"must be {what} or a mapping")

@dataclass(frozen=True)
class PrepareContext:
    """What preparing a target may use: the range's store and data sets, progress, stop, and
    where a federation runs when the backend hosts it."""

    store: ArtifactStore
    datasets: DatasetCache
    progress: ProgressFn | None = None
    should_stop: StopFn | None = None
    # The backend's federation host (the Kubernetes range); None: the local launcher.
    federation: FederationHost | None = None


@dataclass(frozen=True, eq=False)
class AdversaryView:
    """What the adversaries receive (``data``) and what only the range keeps (``truth``)."""

    data: attack_pb2.AdversaryData
    truth: Mapping[str, Any] = field(default_factory=dict)  # result kind -> ground truth

    def truth_for(self, result_kind: str) -> Any:
        try:
            return self.truth[result_kind]
        except KeyError:
            raise FailedPrecondition(
                f"this target has no ground truth for '{result_kind}' results"
            ) from None


class PreparedTarget(ABC):
    """A target ready to deploy and attack."""

    @abstractmethod
    def deploy_spec(self, access: Access) -> TargetDeploySpec | None:
        """What the backend deploys as the exercise's target service; ``None`` for a target
        that is only data (a synthetic release): no Target service is started."""

    @abstractmethod
    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        """The adversaries' data under the exercise's threat model, and the ground truth."""

    @abstractmethod
    def report_info(self, view: AdversaryView) -> TargetInfo:
        """The target as the report describes it."""


class TargetKind(ABC):
    """One ``target:`` key of the exercise spec. Subclasses hold only constants."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # The spec model (or type) of the value under ``target.<name>``.
    spec_type: ClassVar[Any]
    # Result kinds this target has ground truth for (attacks returning others are refused).
    result_kinds: ClassVar[frozenset[str]]
    # Whether ``threat_model.knowledge.labels_known`` can be granted against this kind (only
    # a federation's server adversary has batches whose labels it may be given).
    grants_labels: ClassVar[bool] = False

    @classmethod
    def localise(cls, doc: Any, base: Path) -> Any:
        """The raw ``target.<name>`` document with file paths made absolute against ``base``
        (the exercise file's folder); kinds without files return it unchanged."""
        return doc

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        """Checks that need the registries (data sets, zoo); (path, problem) pairs."""
        return []

    @classmethod
    @abstractmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> PreparedTarget:
        """Train, import or load the target and its ground truth (cached in the store)."""

