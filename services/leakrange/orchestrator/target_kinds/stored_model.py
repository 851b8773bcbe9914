"""``target: {model: sha256:<hex> | NAME}``: a model already in the store, with its split.

The split must be in the store (``groundtruth/<sha>``), written when the range trained the
model (``leakrange train-target`` or an earlier exercise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import MEMBERSHIP, RECONSTRUCTION
from leakrange.common.errors import IntegrityError, NotFound, RangeError
from leakrange.datasets import Split
from leakrange.models import TrainRecipe, model_from_bytes
from leakrange.orchestrator.target_kinds.base import PrepareContext, Problems, TargetKind
from leakrange.orchestrator.target_kinds.model_target import ModelTarget
from leakrange.orchestrator.target_kinds.proxy import proxy_problems

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec

ModelReference = Annotated[str, Field(
    min_length=1, max_length=512,
    description="sha256:<hex> or a published name; its split must be in the store.",
)]


class StoredModelKind(TargetKind):
    name: ClassVar[str] = "model"
    summary: ClassVar[str] = "A model artifact already in the store, with its split."
    spec_type: ClassVar[Any] = ModelReference
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP, RECONSTRUCTION})

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        return proxy_problems(exercise)

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> ModelTarget:
        return load_model_target(ctx.store, ctx.store.resolve(str(part)))


def load_model_target(store: ArtifactStore, ref: ArtifactRef) -> ModelTarget:
    """The model at ``ref`` with the split the store keeps for it."""
    from leakrange.target.training import groundtruth_manifest

    try:
        truth = store.get_manifest(groundtruth_manifest(ref.sha256))
    except NotFound:
        raise NotFound("target.model: the store has no ground truth (split) for it") from None
    try:
        split = Split.from_json(truth["split"])
        dataset = str(truth["dataset"])
    except (KeyError, TypeError, RangeError) as err:
        raise IntegrityError("ground truth of the target model is corrupted") from err
    _model, spec, metadata = model_from_bytes(store.get_bytes(ref))
    recipe = TrainRecipe.model_validate_json(metadata["recipe"]) if "recipe" in metadata \
        else TrainRecipe()
    return ModelTarget(
        model_ref=ref, dataset=dataset, split=split, spec=spec, recipe=recipe,
        train_accuracy=_float(truth.get("train_accuracy")),
        test_accuracy=_float(truth.get("test_accuracy")),
        defences=truth["defences"] if isinstance(truth.get("defences"), dict) else {},
    )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
