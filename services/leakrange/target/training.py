"""Training a target model on a data set split and storing it (``leakrange train-target``).

The model artifact carries the spec, the data set name and the class names, never the split:
the split (membership ground truth) is stored separately under ``groundtruth/<model sha>``, which
only the range reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leakrange.artifacts import MEDIA_MODEL, ArtifactRef, ArtifactStore
from leakrange.datasets import Split, load_dataset, make_split
from leakrange.models import (
    ModelSpec,
    TrainRecipe,
    evaluate_accuracy,
    model_to_bytes,
    spec_from_name_or_json,
    train_model,
)


@dataclass
class TargetTrainingRequest:
    dataset: str
    model: str
    members: int
    seed: int = 0
    recipe_overrides: dict[str, Any] = field(default_factory=dict)
    nonmembers: int | None = None
    population: int | None = None
    name: str | None = None


@dataclass
class TargetTrainingResult:
    model_ref: ArtifactRef
    spec: ModelSpec
    recipe: TrainRecipe
    split: Split
    train_accuracy: float
    test_accuracy: float


def groundtruth_manifest(model_sha: str) -> str:
    return f"groundtruth/{model_sha}"


def train_and_store(
    store: ArtifactStore,
    request: TargetTrainingRequest,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TargetTrainingResult:
    data = load_dataset(request.dataset, store)
    split = make_split(
        len(data.y), members=request.members, nonmembers=request.nonmembers,
        seed=request.seed, population=request.population,
    )
    spec = spec_from_name_or_json(request.model, list(data.input_shape), data.num_classes)
    recipe = TrainRecipe(**{"seed": request.seed, **request.recipe_overrides})
    model = train_model(
        spec, recipe, data.x[split.members], data.y[split.members],
        progress=progress, should_stop=should_stop,
    )
    train_acc = evaluate_accuracy(model, data.x[split.members], data.y[split.members])
    test_acc = evaluate_accuracy(model, data.x[split.nonmembers], data.y[split.nonmembers])
    blob = model_to_bytes(model, spec, {
        "dataset": data.name,
        "class_names": "\x1f".join(data.class_names),
        "recipe": recipe.model_dump_json(),
    })
    ref = store.publish(request.name, blob, MEDIA_MODEL) if request.name else \
        store.put_bytes(blob, MEDIA_MODEL)
    store.put_manifest(groundtruth_manifest(ref.sha256), {
        "dataset": data.name, "split": split.to_json(), "seed": request.seed,
        "train_accuracy": train_acc, "test_accuracy": test_acc,
    })
    return TargetTrainingResult(ref, spec, recipe, split, train_acc, test_acc)
