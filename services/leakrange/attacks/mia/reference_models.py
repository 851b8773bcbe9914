"""Reference (shadow) models trained by the adversary on the data it holds.

Each reference model m is trained on a random half of a pool of records (``masks[m]``), with the
architecture and recipe the threat model grants (or a proxy / approximation). Only the models'
logits on the pool and on extra evaluation records are kept, never the models, and only in the
artifact store, as shards of ``SHARD_MODELS`` models that scoring reads one at a time. Shards are
named by a content hash of everything that determines them, so a rerun reuses them (a crashed
run resumes from the shards it stored) and any change (data, masks, spec, recipe, seed,
augmentation) misses the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.numpy import load as st_load

from leakrange.artifacts import ArtifactStore
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.reference_task import store_shard, stored_shard, write_task
from leakrange.common.errors import FailedPrecondition
from leakrange.models import ModelSpec, TrainRecipe, pick_device, spec_from_name_or_json
from leakrange.models.batched_trainer import (
    iter_reference_logits,
    model_ranges,
    resolve_strategy,
    resolve_workers,
)
from leakrange.models.precision import dtype_name, resolve_precision
from leakrange.models.reference_workers import WorkerUsage

CACHE_VERSION = "2"
SHARD_MODELS = 64
"""Reference models per stored logits shard (and per batched training chunk)."""
_MASK_BLOCK = 1024
"""Records per block when drawing the balanced masks (bounds the draw's memory)."""


@dataclass(frozen=True)
class ReferenceLogits:
    pool: np.ndarray  # [M, n_pool, C]
    extra: np.ndarray  # [M, n_extra, C]
    masks: np.ndarray  # [M, n_pool] bool: record in model m's training set
    cache_hit: bool
    facts: dict[str, float]  # what the pool really was (sizes, IN fraction), for the result


@dataclass(frozen=True)
class PoolPlan:
    """Training masks of the reference models and the facts the result states about them."""

    masks: np.ndarray
    facts: dict[str, float]

    @property
    def shrunk(self) -> bool:
        return self.facts.get("reference_train_shortfall", 0.0) > 0


def plan_pool(
    n_models: int, n_pool: int, seed: int, *, online: bool, train_size: int | None
) -> PoolPlan:
    """Masks for ``n_models`` references over a pool of ``n_pool`` records.

    Online (Carlini et al. 2022; Zarifzadeh et al. 2024): every pool record is IN for half of
    the references, whatever ``train_size`` is; the caller sizes the pool to about twice
    ``train_size``. Offline: each reference trains on ``train_size`` pool records (default half).
    When the pool cannot give ``train_size`` records per model, the references train on fewer
    and the facts say so (``reference_train_shortfall`` > 0) instead of shrinking silently.
    """
    half = online or train_size is None
    fraction = 0.5 if half else min(1.0, (train_size or 0) / max(1, n_pool))
    masks = balanced_masks(n_models, n_pool, seed, fraction)
    per_model = float(masks.sum(axis=1).mean())
    facts = {
        "reference_pool_records": float(n_pool),
        "reference_train_records": round(per_model, 1),
        "reference_in_fraction": round(float(masks.mean(axis=0).mean()), 4),
    }
    if train_size is not None:
        facts["reference_train_size_requested"] = float(train_size)
        facts["reference_train_shortfall"] = round(max(0.0, train_size - per_model), 1)
    return PoolPlan(masks, facts)


def balanced_masks(
    n_models: int, n_records: int, seed: int, in_fraction: float = 0.5
) -> np.ndarray:
    """Each record IN exactly ``round(in_fraction * n_models)`` models (Carlini et al. use
    half), so every model trains on about ``in_fraction * n_records`` records; one model: a
    random ``in_fraction`` of the records."""
    rng = np.random.default_rng(seed)
    if n_models == 1:
        mask = np.zeros((1, n_records), dtype=bool)
        mask[0, rng.permutation(n_records)[: max(1, round(n_records * in_fraction))]] = True
        return mask
    per_record = min(n_models - 1, max(1, round(n_models * in_fraction)))
    masks = np.empty((n_models, n_records), dtype=bool)
    # A block of records at a time: one [models, records] float64 draw and its int64 argsort
    # took 330 MB at 1,024 models x 20,000 records; a block keeps this flat in the records.
    for start in range(0, n_records, _MASK_BLOCK):
        stop = min(start + _MASK_BLOCK, n_records)
        order = rng.random((n_models, stop - start)).argsort(axis=0)
        masks[:, start:stop] = order < per_record
    return masks


def reference_seeds(seed: int, n_models: int) -> list[int]:
    """Independent 31-bit training seeds for the reference models of any (large) run seed."""
    words = np.random.SeedSequence(abs(int(seed))).generate_state(n_models, dtype=np.uint32)
    return [int(w) & 0x7FFFFFFF for w in words]


def reference_spec(ctx: RunContext, input_shape: tuple[int, ...], num_classes: int) -> ModelSpec:
    """The architecture the threat model grants: the target's own spec or the named proxy."""
    k = ctx.threat_model.knowledge
    text = ctx.model_spec_json if k.architecture_known else (k.proxy_model or ctx.model_spec_json)
    if not text:
        raise FailedPrecondition("data.model_spec_json: reference models need a model spec")
    return spec_from_name_or_json(text, list(input_shape), num_classes)


def reference_recipe(ctx: RunContext, epochs: int | None) -> TrainRecipe:
    recipe = TrainRecipe.model_validate_json(ctx.recipe_json) if ctx.recipe_json else TrainRecipe()
    if epochs is not None:
        recipe = recipe.model_copy(update={"epochs": epochs})
    return recipe


def cache_key(*parts: object) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class ReferenceShard:
    """Logits of references ``start .. stop - 1`` on the pool and on the extra records."""

    start: int
    stop: int
    pool: np.ndarray  # [stop - start, n_pool, C]
    extra: np.ndarray  # [stop - start, n_extra, C]


@dataclass(frozen=True)
class ReferencePool:
    """Reference models' outputs, kept in the store as shards of ``SHARD_MODELS`` models and
    read back one shard at a time: scoring memory does not grow with the number of models."""

    store: ArtifactStore
    shard_refs: tuple[tuple[int, int, str], ...]  # (start, stop, sha256)
    n_pool: int
    masks: np.ndarray  # [M, n_pool] bool: record in model m's training set
    cache_hit: bool
    facts: dict[str, float]

    def shards(self) -> Iterator[ReferenceShard]:
        for start, stop, sha in self.shard_refs:
            tensors = st_load(self.store.get_bytes(sha))
            yield ReferenceShard(start, stop, tensors["pool"], tensors["extra"])

    def load_all(self) -> ReferenceLogits:
        """Every model's logits in memory (for attacks with few models, e.g. shadow)."""
        shards = list(self.shards())
        return ReferenceLogits(np.concatenate([s.pool for s in shards]),
                               np.concatenate([s.extra for s in shards]), self.masks,
                               self.cache_hit, self.facts)


def train_references(
    ctx: RunContext,
    *,
    n_models: int,
    pool_x: np.ndarray,
    pool_y: np.ndarray,
    extra_x: np.ndarray,
    spec: ModelSpec,
    recipe: TrainRecipe,
    seed: int,
    strategy: str = "auto",
    tag: str = "",
    train_size: int | None = None,
    online: bool = False,
    precision: str = "auto",
) -> ReferencePool:
    """Train (or find in the store) ``n_models`` reference models; their logits on ``pool_x``
    and ``extra_x`` as store shards.

    ``train_size``: records per reference model (offline; default: half the pool). ``online``:
    every pool record is IN for half of the models (see ``plan_pool``). Each finished shard is
    stored at once under a content-hash name, so a rerun after a crash trains only the shards
    that are missing. With ``ctx.reference_fanout`` the missing shards are written as a task
    (``reference_task``) and trained elsewhere (Kubernetes Indexed Jobs); shards that do not
    come back are trained here. On CPU the models train in ``ctx.cores`` worker processes.
    ``precision`` (``models.precision``): the batched kernel's compute dtype, stated in the
    facts as ``reference_compute_bfloat16`` (1 or 0) and part of the cache key.
    """
    plan = plan_pool(n_models, len(pool_x), seed, online=online, train_size=train_size)
    masks = plan.masks
    if plan.shrunk:
        ctx.log(f"warning: reference models train on {plan.facts['reference_train_records']:.0f}"
                f" records each, not the requested {train_size}: the adversary's pool of "
                f"{len(pool_x)} records is too small")
    dev = pick_device()
    kernel = resolve_strategy(spec, strategy, dev)  # type: ignore[arg-type]
    # The sequential kernel and model-by-model recipes (DP-SGD, early stopping) train float32.
    stacked = kernel == "batched" and not recipe.model_by_model
    compute = dtype_name(resolve_precision(precision, dev) if stacked else torch.float32)
    key = cache_key(pool_x, pool_y, extra_x, masks, spec.model_dump(), recipe.model_dump(),
                    n_models, seed, tag, SHARD_MODELS,
                    *([compute] if compute != "float32" else []))
    prefix = f"cache/mia/references/{key}"
    ranges = model_ranges(n_models, SHARD_MODELS)
    found = {r: sha for r in ranges if (sha := stored_shard(ctx.store, prefix, r)) is not None}
    todo = [r for r in ranges if r not in found]
    seeds = reference_seeds(seed, n_models)
    eval_x = np.concatenate([pool_x, extra_x]) if len(extra_x) else pool_x
    remote = 0
    if todo and ctx.reference_fanout is not None:
        task = write_task(ctx.store, prefix=prefix, spec=spec, recipe=recipe, pool_x=pool_x,
                          pool_y=pool_y, eval_x=eval_x, masks=masks, seeds=seeds, ranges=todo,
                          compute_dtype=compute)
        ctx.progress("reference_training", n_models - sum(b - a for a, b in todo), n_models,
                     f"{len(todo)} reference shards fanned out")
        ctx.reference_fanout.train_shards(task, len(todo))
        for r in todo:
            if (sha := stored_shard(ctx.store, prefix, r)) is not None:
                found[r] = sha
                remote += 1
        todo = [r for r in todo if r not in found]
        if todo:
            ctx.log(f"warning: {len(todo)} reference shards did not come back from the fan-out;"
                    " training them here")
    workers = resolve_workers(dev, ctx.cores, n_models, spec)
    facts = {**plan.facts, "threads": float(workers if workers > 1 else torch.get_num_threads()),
             "reference_workers": float(workers),
             "reference_kernel_batched": float(kernel == "batched"),
             # Facts are numbers: 1 = trained in bfloat16 (mixed precision), 0 = float32.
             "reference_compute_bfloat16": float(compute == "bfloat16")}
    if ctx.reference_fanout is not None:
        facts["reference_shards_remote"] = float(remote)
        facts["reference_shards_local"] = float(len(todo))
    if todo:
        ctx.progress("reference_training", 0, n_models, "training reference models")
        already = n_models - sum(b - a for a, b in todo)
        usage = WorkerUsage()
        for start, stop, logits in iter_reference_logits(
            spec, recipe, pool_x, pool_y, masks, eval_x, seeds=seeds,
            strategy=kernel, device=dev, workers=workers, ranges=todo,
            progress=lambda done, _total: ctx.progress(
                "reference_training", already + done, n_models, "reference models trained"),
            should_stop=ctx.cancelled, usage=usage, precision=compute,  # type: ignore[arg-type]
        ):
            found[(start, stop)] = store_shard(ctx.store, prefix, (start, stop), logits,
                                               len(pool_x))
        if usage.cpu_s:  # worker processes ran: their cost, which this process's RSS omits
            facts["reference_worker_cpu_s"] = round(usage.total_cpu_s, 2)
            facts["reference_worker_peak_rss_mb"] = round(usage.max_peak_rss_mb, 1)
            facts["reference_workers_pss_mb"] = round(usage.total_pss_mb, 1)
    else:
        ctx.progress("reference_training", n_models, n_models, "reference outputs from cache")
    shard_refs = tuple((a, b, found[(a, b)]) for a, b in ranges)
    return ReferencePool(ctx.store, shard_refs, len(pool_x), masks,
                         cache_hit=not todo and not remote,
                         facts=facts)
