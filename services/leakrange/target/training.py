"""Training a target model on a data set split and storing it (``leakrange train-target``).

The model artifact carries the spec, the data set name and the class names, never the split:
the split (membership ground truth) is stored separately under ``groundtruth/<model sha>``, which
only the range reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from leakrange.artifacts import MEDIA_MODEL, ArtifactRef, ArtifactStore
from leakrange.datasets import Split, load_dataset, make_split
from leakrange.models import (
    ModelSpec,
    TrainRecipe,
    evaluate_accuracy,
    model_to_bytes,
    pick_device,
    spec_from_name_or_json,
)
from leakrange.models.early_stopping import holdout
from leakrange.models.fitted import Fitted
from leakrange.models.trainer import fit, training_tensors


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
    defences: dict[str, Any] = field(default_factory=dict)


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
    split, validation_rows = held_out_members(split, recipe)
    dev = pick_device()
    xt, yt = training_tensors(spec, data.x[split.members], data.y[split.members], dev)
    validation = None
    if validation_rows is not None:
        validation = training_tensors(spec, data.x[validation_rows], data.y[validation_rows], dev)
    fitted = fit(spec, recipe, xt, yt, dev, validation=validation, progress=progress,
                 should_stop=should_stop)
    model = fitted.model
    defences = defence_record(fitted)
    train_acc = evaluate_accuracy(model, data.x[split.members], data.y[split.members])
    test_acc = evaluate_accuracy(model, data.x[split.nonmembers], data.y[split.nonmembers])
    blob = model_to_bytes(model, spec, {
        "dataset": data.name,
        "class_names": "\x1f".join(data.class_names),
        "recipe": recipe.model_dump_json(),
        "defences": json.dumps(defences, sort_keys=True),
    })
    ref = store.publish(request.name, blob, MEDIA_MODEL) if request.name else \
        store.put_bytes(blob, MEDIA_MODEL)
    store.put_manifest(groundtruth_manifest(ref.sha256), {
        "dataset": data.name, "split": split.to_json(), "seed": request.seed,
        "train_accuracy": train_acc, "test_accuracy": test_acc, "defences": defences,
    })
    return TargetTrainingResult(ref, spec, recipe, split, train_acc, test_acc, defences)


def held_out_members(split: Split, recipe: TrainRecipe) -> tuple[Split, np.ndarray | None]:
    """Under early stopping: the split with only the members actually trained on, and the
    held-out rows (which stop being ground-truth members: the model never trained on them)."""
    if recipe.early_stopping is None:
        return split, None
    fit_rows, val_rows = holdout(len(split.members), recipe.early_stopping, recipe.seed)
    trained = Split(members=split.members[fit_rows], nonmembers=split.nonmembers,
                    adversary=split.adversary)
    return trained, split.members[val_rows]


def defence_record(fitted: Fitted) -> dict[str, Any]:
    """What the training delivered: epochs run and, under DP-SGD, the accountant's figures."""
    record: dict[str, Any] = {"epochs_run": fitted.epochs_run}
    if fitted.accounting is not None:
        record["dp_sgd"] = asdict(fitted.accounting)
    return record
