"""What only the range knows: the target's split, the audit set's membership labels.

``prepare_target`` trains the target (or loads an existing one) and returns its split; trained
targets are cached in the store by the hash of their recipe, so a rerun or a resumed exercise
reuses the model. ``build_audit`` draws the balanced audit set and shuffles it; its
``is_member`` never leaves the orchestrator.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.errors import IntegrityError, NotFound, RangeError
from leakrange.common.threat_model import Knowledge
from leakrange.datasets import Dataset, Split, load_dataset
from leakrange.models import ModelSpec, TrainRecipe, model_from_bytes
from leakrange.orchestrator.spec import TargetSpec, TrainTarget
from leakrange.target.training import (
    TargetTrainingRequest,
    groundtruth_manifest,
    train_and_store,
)

TARGET_CACHE_PREFIX = "cache/targets"

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


@dataclass(frozen=True)
class PreparedTarget:
    model_ref: ArtifactRef
    dataset: str
    split: Split
    spec: ModelSpec
    recipe: TrainRecipe
    train_accuracy: float | None = None
    test_accuracy: float | None = None


@dataclass(frozen=True, eq=False)
class AuditSet:
    """Audit records in the order the adversary sees them, and (range only) who is a member."""

    rows: np.ndarray  # int64 data set rows, shuffled
    is_member: np.ndarray  # bool, aligned with ``rows``

    def __len__(self) -> int:
        return len(self.rows)


class DatasetCache:
    """Loaded data sets, shared by the exercises of one orchestrator (bounded, thread-safe)."""

    def __init__(self, capacity: int = 4) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, Dataset] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, name: str) -> Dataset:
        with self._lock:
            if name in self._items:
                self._items.move_to_end(name)
                return self._items[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:
            with self._lock:
                if name in self._items:
                    return self._items[name]
            data = load_dataset(name)
            with self._lock:
                self._items[name] = data
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)
            return data


def train_cache_key(train: TrainTarget) -> str:
    doc = train.model_dump(mode="json")
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def prepare_target(
    store: ArtifactStore,
    target: TargetSpec,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> PreparedTarget:
    """Train (or reuse a cached training of) ``target.train``, or load ``target.model``."""
    if target.train is not None:
        return _trained(store, target.train, progress, should_stop)
    assert target.model is not None
    return _existing(store, store.resolve(target.model))


def _trained(
    store: ArtifactStore, train: TrainTarget, progress: ProgressFn | None,
    should_stop: StopFn | None,
) -> PreparedTarget:
    cache_name = f"{TARGET_CACHE_PREFIX}/{train_cache_key(train)}"
    try:
        cached = store.get_manifest(cache_name)
        return _existing(store, store.resolve(str(cached["model"])))
    except (NotFound, KeyError, IntegrityError):
        pass
    model = train.model if isinstance(train.model, str) else json.dumps(train.model)
    overrides = train.recipe.model_dump(exclude_unset=True)
    result = train_and_store(store, TargetTrainingRequest(
        dataset=train.dataset, model=model, members=train.members, seed=train.split_seed,
        recipe_overrides=overrides, nonmembers=train.nonmembers, population=train.population,
    ), progress=progress, should_stop=should_stop)
    store.put_manifest(cache_name, {"model": result.model_ref.uri})
    return PreparedTarget(
        model_ref=result.model_ref, dataset=train.dataset, split=result.split,
        spec=result.spec, recipe=result.recipe, train_accuracy=result.train_accuracy,
        test_accuracy=result.test_accuracy,
    )


def _existing(store: ArtifactStore, ref: ArtifactRef) -> PreparedTarget:
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
    return PreparedTarget(
        model_ref=ref, dataset=dataset, split=split, spec=spec, recipe=recipe,
        train_accuracy=_float(truth.get("train_accuracy")),
        test_accuracy=_float(truth.get("test_accuracy")),
    )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def build_audit(split: Split, records_per_side: int | None, seed: int) -> AuditSet:
    """A balanced member / non-member sample, shuffled (same seed -> same audit set)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA0D1]))
    n = min(len(split.members), len(split.nonmembers))
    if records_per_side is not None:
        n = min(n, records_per_side)
    members = rng.choice(split.members, size=n, replace=False)
    nonmembers = rng.choice(split.nonmembers, size=n, replace=False)
    rows = np.concatenate([members, nonmembers]).astype(np.int64)
    labels = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    order = rng.permutation(2 * n)
    return AuditSet(rows=rows[order], is_member=labels[order])


def adversary_rows(split: Split, knowledge: Knowledge, seed: int) -> np.ndarray:
    """Rows the adversary holds: ``data_fraction`` of the adversary pool, plus the same
    fraction of the members when the threat model says its data overlaps them (shuffled)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xADF0]))
    pool = split.adversary
    take = round(knowledge.data_fraction * len(pool))
    rows = rng.choice(pool, size=take, replace=False) if take else np.zeros(0, np.int64)
    if knowledge.data_overlaps_members:
        overlap = round(knowledge.data_fraction * len(split.members))
        rows = np.concatenate([rows, rng.choice(split.members, size=overlap, replace=False)])
    return rng.permutation(rows.astype(np.int64))
