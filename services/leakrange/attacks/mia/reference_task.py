"""Reference training as a task document, so other machines can train its shards.

An attack that fans its reference training out (``ReferenceFanout``, e.g. Kubernetes Indexed
Jobs) writes one task document to its own (adversary) store: the pool's arrays as a safetensors
blob, the masks, the architecture, the recipe, the seeds, the model ranges of the shards still
to train and the manifest prefix the shards are stored under. A worker (``leakrange
reference-shard``, one per Job completion index) reads the task with the same store identity,
trains shard ``index`` exactly as the attack process would (same kernels, seeds and batch
order) and stores it under the name the attack looks for; a shard already stored is not
trained again, so a retried pod or a rerun resumes from what is there. Nothing is unpickled:
the document is JSON and the arrays are safetensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from pydantic import ValidationError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from leakrange.artifacts import MEDIA_TENSORS, ArtifactStore
from leakrange.artifacts.ref import SHA256_PREFIX, is_sha256_hex
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound
from leakrange.models import ModelSpec, TrainRecipe, pick_device
from leakrange.models.batched_trainer import iter_reference_logits, resolve_workers
from leakrange.models.cpu_budget import available_cores
from leakrange.models.training_control import StopFn

TASK_KIND = "leakrange.reference-training-task"
TASK_VERSION = 1


class ReferenceFanout(Protocol):
    """Trains the shards of a stored task elsewhere and returns once it has finished (whether
    or not every shard made it: the caller checks the store and trains what is missing). In an
    exercise it is ``attacks.range_fanout.StreamFanout`` (the range trains them as Kubernetes
    Jobs), which raises ``Cancelled`` when the run is cancelled while it waits."""

    def train_shards(self, task: str, shards: int) -> None: ...


@dataclass(frozen=True)
class ReferenceTask:
    prefix: str
    spec: ModelSpec
    recipe: TrainRecipe
    seeds: list[int]
    ranges: list[tuple[int, int]]
    n_pool: int
    arrays: str  # sha256 of the safetensors blob: x, y, eval_x, masks
    compute_dtype: str = "float32"  # the batched kernel's (``models.precision``)


def shard_name(prefix: str, bounds: tuple[int, int]) -> str:
    return f"{prefix}/shard-{bounds[0]:05d}-{bounds[1]:05d}"


def stored_shard(store: ArtifactStore, prefix: str, bounds: tuple[int, int]) -> str | None:
    """sha256 of the stored shard ``bounds`` under ``prefix``, or None when it is missing."""
    try:
        sha = str(store.get_manifest(shard_name(prefix, bounds))["sha256"])
    except (NotFound, IntegrityError, KeyError):
        return None
    return sha if store.exists(sha) else None


def store_shard(store: ArtifactStore, prefix: str, bounds: tuple[int, int],
                logits: np.ndarray, n_pool: int) -> str:
    """Store one shard's logits (pool | extra records) and its manifest; returns its sha256."""
    blob = st_save({"pool": np.ascontiguousarray(logits[:, :n_pool]),
                    "extra": np.ascontiguousarray(logits[:, n_pool:])})
    ref = store.put_bytes(blob, MEDIA_TENSORS)
    store.put_manifest(shard_name(prefix, bounds),
                       {"sha256": ref.sha256, "start": bounds[0], "stop": bounds[1]})
    return ref.sha256


def write_task(
    store: ArtifactStore, *, prefix: str, spec: ModelSpec, recipe: TrainRecipe,
    pool_x: np.ndarray, pool_y: np.ndarray, eval_x: np.ndarray, masks: np.ndarray,
    seeds: list[int], ranges: list[tuple[int, int]], compute_dtype: str = "float32",
) -> str:
    """Store the task (arrays blob + JSON document); returns ``sha256:<hex>`` of the document."""
    arrays = store.put_bytes(st_save({
        "x": np.ascontiguousarray(pool_x, dtype=np.float32),
        "y": np.ascontiguousarray(pool_y, dtype=np.int64),
        "eval_x": np.ascontiguousarray(eval_x, dtype=np.float32),
        "masks": np.ascontiguousarray(masks, dtype=np.uint8),
    }), MEDIA_TENSORS)
    doc = {"kind": TASK_KIND, "version": TASK_VERSION, "prefix": prefix,
           "spec": spec.model_dump(mode="json"), "recipe": recipe.model_dump(mode="json"),
           "seeds": [int(s) for s in seeds], "ranges": [[int(a), int(b)] for a, b in ranges],
           "n_pool": len(pool_x), "arrays": arrays.sha256, "compute_dtype": compute_dtype}
    return f"{SHA256_PREFIX}{store.put_json(doc).sha256}"


def read_task(store: ArtifactStore, ref: str) -> ReferenceTask:
    """The task document ``ref`` (``sha256:<hex>``), checked field by field."""
    sha = ref.removeprefix(SHA256_PREFIX)
    if not is_sha256_hex(sha):
        raise InvalidArgument("task", "must be sha256:<64 hex digits>")
    doc = store.get_json(sha)
    if doc.get("kind") != TASK_KIND or doc.get("version") != TASK_VERSION:
        raise InvalidArgument("task", f"is not a {TASK_KIND} document of version {TASK_VERSION}")
    try:
        spec = ModelSpec.model_validate(doc["spec"])
        recipe = TrainRecipe.model_validate(doc["recipe"])
    except (KeyError, ValidationError):
        raise InvalidArgument("task.spec", "spec or recipe missing or invalid") from None
    seeds, ranges = doc.get("seeds"), doc.get("ranges")
    if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
        raise InvalidArgument("task.seeds", "must be a list of integers")
    if not isinstance(ranges, list) or not all(_is_range(r, len(seeds)) for r in ranges):
        raise InvalidArgument("task.ranges", "must be [start, stop] pairs within the seeds")
    for field in ("prefix", "arrays"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            raise InvalidArgument(f"task.{field}", "must be a non-empty string")
    if not isinstance(doc.get("n_pool"), int) or doc["n_pool"] < 1:
        raise InvalidArgument("task.n_pool", "must be a positive integer")
    compute = doc.get("compute_dtype", "float32")  # absent in documents written before it
    if compute not in ("float32", "bfloat16"):
        raise InvalidArgument("task.compute_dtype", "must be float32 or bfloat16")
    return ReferenceTask(doc["prefix"], spec, recipe, seeds,
                         [(int(a), int(b)) for a, b in ranges], doc["n_pool"], doc["arrays"],
                         compute)


def _is_range(r: Any, n: int) -> bool:
    return (isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) for v in r)
            and 0 <= r[0] < r[1] <= n)


def train_task_shard(
    store: ArtifactStore, task_ref: str, index: int, *, device: torch.device | None = None,
    cores: int | None = None, should_stop: StopFn | None = None,
) -> bool:
    """Train shard ``index`` of the task and store it; False when it was already stored."""
    task = read_task(store, task_ref)
    if not 0 <= index < len(task.ranges):
        raise InvalidArgument("index", f"must be in [0, {len(task.ranges)}) for this task")
    bounds = task.ranges[index]
    if stored_shard(store, task.prefix, bounds) is not None:
        return False
    arrays = st_load(store.get_bytes(task.arrays))
    try:
        x, y, eval_x = arrays["x"], arrays["y"], arrays["eval_x"]
        masks = arrays["masks"].astype(bool)
    except KeyError:
        raise InvalidArgument("task.arrays", "needs x, y, eval_x and masks") from None
    if masks.shape != (len(task.seeds), len(x)) or len(y) != len(x) or len(x) != task.n_pool:
        raise InvalidArgument("task.arrays", "shapes do not match the task")
    dev = device or pick_device()
    workers = resolve_workers(dev, cores or available_cores(), bounds[1] - bounds[0],
                              task.spec)
    for start, stop, logits in iter_reference_logits(
        task.spec, task.recipe, x, y, masks, eval_x, seeds=task.seeds, strategy="auto",
        device=dev, workers=workers, ranges=[bounds], should_stop=should_stop,
        precision=task.compute_dtype,  # type: ignore[arg-type]
    ):
        store_shard(store, task.prefix, (start, stop), logits, task.n_pool)
    return True
