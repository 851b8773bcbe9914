"""Train many reference models (one per training mask) and keep only their logits on eval_x.

Two strategies with the same per-model recipe, initialisation (seed) and batch order:

- ``sequential``: one ``train_model`` call per model.
- ``batched``: up to ``chunk_size`` models at once with the stacked kernels of ``stacked_nets``
  (linear layers as one ``baddbmm``, convolutions as one grouped convolution over the models),
  their parameters stacked by ``torch.func.stack_module_state`` and stepped by one fused
  optimiser; each model draws its own batches from its own training indices. Adam and SGD
  (with weight decay / momentum) act elementwise, so one optimiser over the stacked parameters
  steps every model exactly as its own optimiser would. When the training sets have equal sizes
  (LiRA-style half splits) each model sees exactly the batches the sequential strategy would
  give it; a model with fewer records wraps its shuffled order around to the largest set's
  length. On CPU, CNNs go ``_CPU_CNN_GROUP`` models per grouped-convolution call.

``auto`` picks ``batched`` for every family on every device; on CPU the models also train in
worker processes (``resolve_workers``). Measured on the 2-core dev machine (Xeon with AVX-512,
2026-12-02, torch 2.13, one thread per process; CPU seconds, because the machine was shared
with other jobs at load 8-13 and wall times there mean little):

- one training step, 16 Adult MLPs (in-108-64-64-2, batch 128): one model after another 11.8 ms,
  ``torch.vmap`` over ``functional_call`` 4.3-4.4 ms, stacked ``baddbmm`` 3.5 ms, stacked with
  fused Adam 2.9 ms;
- one training step per model, MNIST CNN (conv16-conv32-fc10, batch 64): a single model
  15.1 ms; grouped convolution over 8 models 17.2 ms in NCHW, 12.0 ms channels-last, 9.0 ms
  channels-last with pooling before ReLU (4 models 12.5 ms, 16 models 13.3 ms, 32 models
  16.2 ms: hence groups of 8); vmap over 8 CNNs 20 ms (why it used to be off on CPU);
- whole runs (tools/bench/reference_training.py, CPU seconds sequential / batched in one
  process / batched in 2 workers): 16 Adult MLPs x 2 epochs 1.17 / 0.42 / 0.55, 64 MLPs x 2
  epochs 4.20 / 1.35 / 2.04, 16 MNIST CNNs x 1 epoch 25.9 / 13.4 / 14.1; logits within 2e-4
  (MLP) and 2e-3 (CNN) of the sequential strategy's.

Precision (``precision``; ``auto`` = bfloat16 mixed precision on CPUs with AMX, float32
elsewhere). Same machine, one thread, CPU ms per model and training step of the MNIST CNN,
2026-12-02 at load 5-10: grouped x8 channels-last float32 10.9, bfloat16 5.3 (autocast and
casts in the graph alike; x16 5.4, x32 6.8, x1 14.7, so groups of 8 stay); NCHW bfloat16 14.6;
convolution as im2col + bmm 45 (float32) / 27 (bfloat16). In bfloat16 the first block (the
28x28x16 activations: convolution, max-pool and their backward) is about two thirds of the
step, memory-bound; a hand-written 2x2 pool on strided views was 3x slower than torch's.
Worker processes also keep freed heap memory (``malloc``): 10-20 % less CPU per step.
LiRA-online-16 on the MNIST CNN end to end (``tools/bench/mia.py``, 2 workers): 118.0 CPU s
in bfloat16 against 200.9 in float32 in the same run, attack strength within the CIs.

CUDA: vmapped CNNs were 4.5x (16 models) to 19x (64) faster than a loop on an H200 (2026-11);
the stacked kernels have not been measured on a GPU yet (no GPU was lent in this session;
tests/unit/test_batched_training.py checks them behind ``requires_gpu``). Models are discarded
after their logits are taken, and logits leave range by range (``iter_reference_logits``) so
callers can stream them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np
import torch
from torch.func import stack_module_state
from torch.nn import functional as F

from leakrange.common.errors import InvalidArgument
from leakrange.models.determinism import deterministic_kernels, seeded_model, shuffle_generator
from leakrange.models.device import pick_device
from leakrange.models.precision import Precision, resolve_precision
from leakrange.models.recipe import TrainRecipe
from leakrange.models.reference_workers import WorkerUsage
from leakrange.models.spec import ModelSpec
from leakrange.models.stacked_nets import stacked_forward, widest_activation
from leakrange.models.trainer import (
    ProgressFn,
    StopFn,
    check_stop,
    fit_model,
    input_tensor,
    make_optimizer,
    predict_tensor_logits,
    training_tensors,
)

Strategy = Literal["auto", "batched", "sequential"]
Kernel = Literal["batched", "sequential"]
ChunkLogits = tuple[int, int, np.ndarray]
"""(first model, one past the last model, their logits ``[stop - start, n_eval, C]``)."""

_EVAL_VALUES = 1 << 22
"""Activation values per stacked prediction step (16 MiB of float32: bounds its memory)."""
_CPU_CNN_GROUP = 8
"""CNNs per grouped-convolution call on CPU (see the module docstring)."""


def resolve_strategy(
    spec: ModelSpec, strategy: Strategy, device: torch.device | None = None
) -> Kernel:
    """The kernel ``auto`` stands for on ``device`` (CPU when not given)."""
    if strategy == "auto":
        return "batched"
    if strategy not in ("batched", "sequential"):
        raise InvalidArgument("strategy", "must be auto, batched or sequential")
    return strategy


def resolve_workers(
    device: torch.device, cores: int, n_models: int, spec: ModelSpec | None = None
) -> int:
    """Worker processes (one torch thread each) for ``n_models`` on ``device`` with ``cores``.

    CUDA: one (the GPU batches the models). CPU: one per core, at most one per model, for every
    family (``spec`` is accepted so a family could be told apart; the measurements below do not
    call for it). Workers cost more CPU than one process doing all the work (CPU seconds, 2-core
    machine at load 8-13, see the module docstring: 1.3x for 16 Adult MLPs, 1.5x for 64 -- each
    worker's stacked matmuls are half as wide and each pays its start -- and 1.06x for 16 MNIST
    CNNs), so with the cores really free they finish in about 0.53-0.75x the wall time, and on
    a machine with no free core they lose by that factor (2026-12: 16 MLPs x 3 epochs at load
    2-9, one process 0.85 s, 2 workers 1.51 s). ``cores`` is what this process is given
    (affinity and cgroup quota, ``cpu_budget``), i.e. a pod's CPU limit, so workers are the
    right call there. Two intra-op threads in one process collapsed as soon as the cores were
    shared (6.8 s for the same run: spinning OpenMP threads), so threads are not used instead.
    """
    if device.type == "cuda" or cores <= 1:
        return 1
    return max(1, min(cores, n_models))


def model_ranges(n_models: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk_size, n_models)) for a in range(0, n_models, chunk_size)]


def check_inputs(
    x: np.ndarray, train_masks: np.ndarray, seeds: Sequence[int], chunk_size: int
) -> np.ndarray:
    masks = np.asarray(train_masks)
    if masks.ndim != 2 or masks.dtype != np.bool_:
        raise InvalidArgument("train_masks", "must be a 2-D boolean array [models, records]")
    n_models, n_records = masks.shape
    if n_models == 0:
        raise InvalidArgument("train_masks", "needs at least one model")
    if n_records != np.asarray(x).shape[0]:
        raise InvalidArgument("train_masks", "needs one column per record of x")
    if not masks.any(axis=1).all():
        raise InvalidArgument("train_masks", "every model needs at least one training record")
    if len(seeds) != n_models:
        raise InvalidArgument("seeds", "needs one seed per model")
    if chunk_size < 1:
        raise InvalidArgument("chunk_size", "must be at least 1")
    return masks


def train_reference_logits(
    spec: ModelSpec,
    recipe: TrainRecipe,
    x: np.ndarray,
    y: np.ndarray,
    train_masks: np.ndarray,
    eval_x: np.ndarray,
    *,
    seeds: Sequence[int],
    strategy: Strategy = "auto",
    chunk_size: int = 64,
    device: torch.device | None = None,
    workers: int = 1,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    usage: WorkerUsage | None = None,
    precision: Precision = "float32",
) -> np.ndarray:
    """Logits ``[M, len(eval_x), num_classes]`` (float32) of M models, model m trained on
    ``x[train_masks[m]]`` with ``recipe`` and seed ``seeds[m]`` (all chunks of
    ``iter_reference_logits`` put together: for callers that keep every model's logits).
    """
    parts = [logits for _, _, logits in iter_reference_logits(
        spec, recipe, x, y, train_masks, eval_x, seeds=seeds, strategy=strategy,
        chunk_size=chunk_size, device=device, workers=workers, progress=progress,
        should_stop=should_stop, usage=usage, precision=precision)]
    return np.concatenate(parts)


def iter_reference_logits(
    spec: ModelSpec,
    recipe: TrainRecipe,
    x: np.ndarray,
    y: np.ndarray,
    train_masks: np.ndarray,
    eval_x: np.ndarray,
    *,
    seeds: Sequence[int],
    strategy: Strategy = "auto",
    chunk_size: int = 64,
    device: torch.device | None = None,
    workers: int = 1,
    ranges: Sequence[tuple[int, int]] | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    usage: WorkerUsage | None = None,
    precision: Precision = "float32",
) -> Iterator[ChunkLogits]:
    """Train the models of each range in ``ranges`` (default: chunks of ``chunk_size``) and
    yield their logits on ``eval_x`` range by range, in order; nothing else is kept.

    The pool's tensors are built once (per worker process with ``workers`` > 1, each worker
    using one torch thread). ``progress(models_done, models_to_train)`` after each model
    (sequential kernel) or range (batched kernel); ``should_stop`` is checked before every
    optimiser step and raises ``Cancelled``. ``usage`` receives the worker processes' CPU
    seconds and peak RSS (nothing without workers: this process's own usage is the caller's).
    ``precision`` (``precision.resolve_precision``) is the batched kernel's compute dtype; the
    sequential kernel always trains in float32.
    """
    masks = check_inputs(x, train_masks, seeds, chunk_size)
    dev = device or pick_device()
    kernel = resolve_strategy(spec, strategy, dev)
    dtype = resolve_precision(precision, dev)
    todo = list(ranges) if ranges is not None else model_ranges(len(masks), chunk_size)
    if workers > 1 and dev.type == "cpu":
        from leakrange.models.reference_workers import worker_logits

        yield from worker_logits(spec, recipe, x, y, masks, eval_x, [int(s) for s in seeds],
                                 kernel, todo, workers, progress, should_stop, usage, dtype)
        return
    xt, yt = training_tensors(spec, x, y, dev)
    eval_t = input_tensor(spec, eval_x, dev)
    total = sum(b - a for a, b in todo)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for start, stop in todo:
        members = [np.flatnonzero(masks[m]) for m in range(start, stop)]
        logits = models_logits(kernel, spec, recipe, xt, yt, members,
                               [int(s) for s in seeds[start:stop]], eval_t, dev, should_stop,
                               on_model=step if kernel == "sequential" else None,
                               compute_dtype=dtype)
        if kernel == "batched":
            step(stop - start)
        yield start, stop, logits


def models_logits(
    kernel: Kernel,
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    members: list[np.ndarray],
    seeds: list[int],
    eval_t: torch.Tensor,
    dev: torch.device,
    should_stop: StopFn | None,
    on_model: Callable[[int], None] | None = None,
    compute_dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Train one model per (rows, seed) with ``kernel``; their logits on ``eval_t``, one
    evaluation pass per model (sequential) or per chunk (batched, in ``compute_dtype``)."""
    if kernel == "batched" and not recipe.model_by_model:
        return _train_chunk(spec, recipe, xt, yt, members, seeds, eval_t, dev, should_stop,
                            compute_dtype)
    out = np.empty((len(seeds), eval_t.shape[0], spec.num_classes), dtype=np.float32)
    for i, (rows, seed) in enumerate(zip(members, seeds, strict=True)):
        check_stop(should_stop)
        idx = torch.as_tensor(rows, dtype=torch.int64, device=dev)
        model = fit_model(spec, recipe.model_copy(update={"seed": seed}), xt[idx], yt[idx], dev,
                          should_stop=should_stop)
        out[i] = predict_tensor_logits(model, eval_t)
        del model
        if on_model is not None:
            on_model(1)
    return out


def group_models(spec: ModelSpec, device: torch.device) -> int:
    """Models per stacked kernel call: on CPU at most ``_CPU_CNN_GROUP`` CNNs (larger groups
    fall out of cache and lose per model), every model of the chunk otherwise."""
    if device.type == "cpu" and spec.kind == "cnn":
        return _CPU_CNN_GROUP
    return 1 << 30


def _train_chunk(
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    members: list[np.ndarray],
    seeds: list[int],
    eval_t: torch.Tensor,
    dev: torch.device,
    should_stop: StopFn | None,
    compute_dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Train ``len(seeds)`` models with the stacked kernels, ``group_models`` at a time;
    return their logits on ``eval_t``."""
    groups = model_ranges(len(seeds), group_models(spec, dev))
    return np.concatenate([
        _train_group(spec, recipe, xt, yt, members[a:b], seeds[a:b], eval_t, dev, should_stop,
                     compute_dtype)
        for a, b in groups
    ])


def _train_group(
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    members: list[np.ndarray],
    seeds: list[int],
    eval_t: torch.Tensor,
    dev: torch.device,
    should_stop: StopFn | None,
    compute_dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """One stacked training run of ``len(seeds)`` models (``stacked_nets``): float32 master
    weights and optimiser state, forward and backward in ``compute_dtype``, loss in float32;
    the logits on ``eval_t`` in float32."""
    models = [seeded_model(spec, seed, dev) for seed in seeds]
    params, _ = stack_module_state(models)  # type: ignore[arg-type]  # zoo models: no buffers
    del models
    n_models, n_classes = len(seeds), spec.num_classes
    optimizer = make_optimizer(recipe, params.values(), fused=True)
    generators = [shuffle_generator(seed) for seed in seeds]
    member_rows = [torch.as_tensor(rows, dtype=torch.int64) for rows in members]
    longest = max(len(rows) for rows in members)

    with deterministic_kernels(dev, seeds[0]):
        for _ in range(recipe.epochs):
            order = torch.stack(
                [
                    _epoch_order(rows, gen, longest)
                    for rows, gen in zip(member_rows, generators, strict=True)
                ]
            ).to(dev)
            for begin in range(0, longest, recipe.batch_size):
                check_stop(should_stop)
                idx = order[:, begin : begin + recipe.batch_size]
                logits = stacked_forward(spec, params, xt[idx], training=True,
                                         compute_dtype=compute_dtype)
                # Sum over models of each model's mean loss: each model gets its own gradient.
                losses = F.cross_entropy(logits.float().reshape(-1, n_classes),
                                         yt[idx].reshape(-1),
                                         label_smoothing=recipe.label_smoothing,
                                         reduction="none")
                optimizer.zero_grad(set_to_none=True)
                losses.view(n_models, -1).mean(dim=1).sum().backward()
                optimizer.step()
        return _group_logits(spec, params, eval_t, n_models)


def _epoch_order(rows: torch.Tensor, generator: torch.Generator, length: int) -> torch.Tensor:
    """This epoch's shuffled record order for one model, wrapped around to ``length``."""
    perm = rows[torch.randperm(len(rows), generator=generator)]
    if len(perm) == length:
        return perm
    return perm[torch.arange(length) % len(perm)]


def _group_logits(
    spec: ModelSpec, params: dict[str, torch.Tensor], eval_t: torch.Tensor, n_models: int
) -> np.ndarray:
    """Every model's logits on ``eval_t`` in one pass over it, at most ``_EVAL_VALUES``
    activation values at a time."""
    step = max(1, _EVAL_VALUES // (n_models * widest_activation(spec)))
    parts = []
    with torch.no_grad():
        for begin in range(0, max(eval_t.shape[0], 1), step):
            rows = eval_t[begin : begin + step]
            batch = rows.unsqueeze(0).expand(n_models, *rows.shape)
            parts.append(stacked_forward(spec, params, batch, training=False).float().cpu())
    return torch.cat(parts, dim=1).numpy()
