"""``target: {train: {...}}``: the range trains the target on a registered data set and keeps
the member / non-member split as ground truth. Trainings are cached in the store by the hash of
their spec, so a rerun or a resumed exercise reuses the model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leakrange.common.attack_info import ATTRIBUTE, MEMBERSHIP, RECONSTRUCTION
from leakrange.common.errors import IntegrityError, NotFound, RangeError
from leakrange.models.recipe import TrainRecipe
from leakrange.orchestrator.target_kinds.base import (
    PrepareContext,
    Problems,
    TargetKind,
    name_or_mapping,
)
from leakrange.orchestrator.target_kinds.model_target import ModelTarget
from leakrange.orchestrator.target_kinds.proxy import proxy_problems
from leakrange.orchestrator.target_kinds.stored_model import load_model_target

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec

TARGET_CACHE_PREFIX = "cache/targets"


class TrainTarget(BaseModel):
    """Train the target inside the range: the range keeps the split (ground truth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(min_length=1, max_length=64)
    members: int = Field(ge=1, le=10_000_000)
    nonmembers: int | None = Field(default=None, ge=1, le=10_000_000)
    population: int | None = Field(
        default=None, ge=2, description="Sample this many records of the data set first."
    )
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    model: Any = Field(default="mlp", description="Zoo name or a model spec (mapping).")
    recipe: TrainRecipe = TrainRecipe()
    secret_attribute: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="A categorical column the adversaries must infer (attribute inference): "
                    "blanked in the audit records they receive.")

    @field_validator("model")
    @classmethod
    def _name_or_mapping(cls, value: Any) -> str | dict[str, Any]:
        return name_or_mapping(value, "a zoo name")


def secret_attribute_problems(train: TrainTarget, entry: Any, exercise: ExerciseSpec
                              ) -> Problems:
    """The secret attribute must be a categorical column of a tabular data set, and is required
    by attribute-inference attacks (their result kind, from the attack catalogue)."""
    from leakrange.catalogue import load_catalogue

    where = "target.train.secret_attribute"
    if train.secret_attribute is not None:
        columns = entry.schema.categorical if entry.schema is not None else ()
        if train.secret_attribute not in columns:
            listed = ", ".join(columns) if columns else "none: not a tabular data set"
            return [(where, f"must be a categorical column ({listed})")]
        return []
    catalogue = load_catalogue()
    for adversary in exercise.adversaries:
        for attack in adversary.attacks:
            try:
                kind = catalogue.get(adversary.family, attack.name).result_kind
            except RangeError:
                continue
            if kind == ATTRIBUTE:
                return [(where, f"required by attack '{attack.name}' (attribute inference)")]
    return []


def train_cache_key(train: TrainTarget) -> str:
    # The secret attribute changes what the adversaries see, not the trained model.
    doc = train.model_dump(mode="json", exclude={"secret_attribute"})
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class TrainKind(TargetKind):
    name: ClassVar[str] = "train"
    summary: ClassVar[str] = "Train the target in the range on a registered data set."
    spec_type: ClassVar[Any] = TrainTarget
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP, RECONSTRUCTION, ATTRIBUTE})

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.datasets import dataset_entry
        from leakrange.models.zoo import ZOO

        train: TrainTarget = part
        problems: Problems = []
        try:
            entry = dataset_entry(train.dataset)
        except RangeError as err:
            problems.append(("target.train.dataset", str(err)))
        else:
            pool = train.population or entry.rows
            if train.population is not None and train.population > entry.rows:
                problems.append(("target.train.population", f"must be <= {entry.rows}"))
            elif train.members + (train.nonmembers or train.members) > pool:
                problems.append(("target.train.members",
                                 f"members + nonmembers must be <= {pool} records"))
            problems += secret_attribute_problems(train, entry, exercise)
        problems += proxy_problems(exercise)
        if isinstance(train.model, str) and train.model not in ZOO:
            problems.append(("target.train.model",
                             f"unknown model; zoo: {', '.join(sorted(ZOO))}"))
        per_side = exercise.audit.records_per_side
        if per_side is not None and per_side > min(train.members,
                                                   train.nonmembers or train.members):
            problems.append(("audit.records_per_side", "must be <= members and <= nonmembers"))
        return problems

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> ModelTarget:
        from leakrange.target.training import TargetTrainingRequest, train_and_store

        train: TrainTarget = part
        store = ctx.store
        cache_name = f"{TARGET_CACHE_PREFIX}/{train_cache_key(train)}"
        try:
            cached = store.get_manifest(cache_name)
            loaded = load_model_target(store, store.resolve(str(cached["model"])))
            return replace(loaded, secret_attribute=train.secret_attribute)
        except (NotFound, KeyError, IntegrityError):
            pass
        model = train.model if isinstance(train.model, str) else json.dumps(train.model)
        overrides = train.recipe.model_dump(exclude_unset=True)
        result = train_and_store(store, TargetTrainingRequest(
            dataset=train.dataset, model=model, members=train.members, seed=train.split_seed,
            recipe_overrides=overrides, nonmembers=train.nonmembers,
            population=train.population,
        ), progress=ctx.progress, should_stop=ctx.should_stop)
        store.put_manifest(cache_name, {"model": result.model_ref.uri})
        return ModelTarget(
            model_ref=result.model_ref, dataset=train.dataset, split=result.split,
            spec=result.spec, recipe=result.recipe, train_accuracy=result.train_accuracy,
            test_accuracy=result.test_accuracy, secret_attribute=train.secret_attribute,
            defences=result.defences,
        )
