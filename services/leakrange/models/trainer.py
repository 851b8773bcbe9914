"""Train one model deterministically; predict and score it."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from leakrange.common.errors import InvalidArgument
from leakrange.models.determinism import deterministic_kernels, seeded_model, shuffle_generator
from leakrange.models.device import pick_device
from leakrange.models.dp_sgd import fit_dp_model
from leakrange.models.early_stopping import EarlyStopper, holdout
from leakrange.models.fitted import Fitted
from leakrange.models.recipe import TrainRecipe
from leakrange.models.spec import ModelSpec
from leakrange.models.training_control import ProgressFn, StopFn, check_stop


def train_model(
    spec: ModelSpec,
    recipe: TrainRecipe,
    x: np.ndarray,
    y: np.ndarray,
    *,
    device: torch.device | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> nn.Module:
    """Train a fresh ``spec`` model on (x, y) with ``recipe``; returns it in eval mode.

    Same inputs and seed -> bitwise-identical weights on CPU. ``progress(epochs_done, epochs)``
    is called after each epoch; ``should_stop`` is checked before each batch and raises
    ``Cancelled``.
    """
    dev = device or pick_device()
    xt, yt = training_tensors(spec, x, y, dev)
    return fit_model(spec, recipe, xt, yt, dev, progress=progress, should_stop=should_stop)


def fit_model(
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    dev: torch.device,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> nn.Module:
    """``train_model`` on tensors already validated and on ``dev`` (no copy of the data).

    Under early stopping the held-out share is carved from (xt, yt) by the recipe's seed
    (``early_stopping.holdout``); ``fit`` takes an explicit validation set instead."""
    validation = None
    if recipe.early_stopping is not None:
        train_rows, val_rows = holdout(xt.shape[0], recipe.early_stopping, recipe.seed)
        fit_idx = torch.as_tensor(train_rows, device=dev)
        val_idx = torch.as_tensor(val_rows, device=dev)
        validation = (xt[val_idx], yt[val_idx])
        xt, yt = xt[fit_idx], yt[fit_idx]
    return fit(spec, recipe, xt, yt, dev, validation=validation, progress=progress,
               should_stop=should_stop).model


def fit(
    spec: ModelSpec,
    recipe: TrainRecipe,
    xt: torch.Tensor,
    yt: torch.Tensor,
    dev: torch.device,
    *,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Fitted:
    """Train on every row of (xt, yt) with the recipe's defences; ``validation`` is the
    held-out set early stopping watches (required when the recipe asks for it)."""
    if recipe.early_stopping is not None and validation is None:
        raise InvalidArgument("recipe.early_stopping", "needs held-out records")
    if recipe.dp_sgd is not None:
        return fit_dp_model(spec, recipe, xt, yt, dev, validation=validation,
                            progress=progress, should_stop=should_stop)
    with deterministic_kernels(dev, recipe.seed):
        model = seeded_model(spec, recipe.seed, dev)
        model.train()
        optimizer = make_optimizer(recipe, model.parameters())
        generator = shuffle_generator(recipe.seed)
        stopper = EarlyStopper.for_recipe(recipe.early_stopping, validation)
        n = xt.shape[0]
        epochs_run = 0
        for epoch in range(recipe.epochs):
            order = torch.randperm(n, generator=generator).to(dev)
            for start in range(0, n, recipe.batch_size):
                check_stop(should_stop)
                batch = order[start : start + recipe.batch_size]
                loss = F.cross_entropy(model(xt[batch]), yt[batch],
                                       label_smoothing=recipe.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            epochs_run = epoch + 1
            if progress is not None:
                progress(epoch + 1, recipe.epochs)
            if stopper is not None and stopper.update(model, epoch + 1):
                break
        if stopper is not None:
            stopper.restore(model)
            epochs_run = stopper.best_epoch
    return Fitted(model.eval(), epochs_run)


def make_optimizer(
    recipe: TrainRecipe, params: Iterable[torch.Tensor], *, fused: bool | None = None
) -> torch.optim.Optimizer:
    """The recipe's optimiser. Both act elementwise, so stacked parameters train independently.

    ``fused``: torch's one-kernel implementation (same update, float rounding aside), which
    the stacked reference-model kernels use; ``None`` keeps torch's default."""
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay,
                                fused=fused)
    return torch.optim.SGD(
        params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
        fused=fused,
    )


def training_tensors(
    spec: ModelSpec, x: np.ndarray, y: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate (x, y) against the spec and move them to ``device`` as float32 / int64."""
    xt = input_tensor(spec, x, device)
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != xt.shape[0]:
        raise InvalidArgument("y", "must be 1-D with one label per row of x")
    if xt.shape[0] == 0:
        raise InvalidArgument("x", "no training records")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidArgument("y", "labels must be integers")
    if labels.min() < 0 or labels.max() >= spec.num_classes:
        raise InvalidArgument("y", "labels must lie in [0, num_classes)")
    return xt, torch.as_tensor(labels, dtype=torch.int64, device=device)


def input_tensor(spec: ModelSpec, x: np.ndarray, device: torch.device) -> torch.Tensor:
    arr = np.asarray(x)
    if tuple(arr.shape[1:]) != tuple(spec.input_shape):
        raise InvalidArgument("x", f"expected shape [*, {', '.join(map(str, spec.input_shape))}]")
    return torch.as_tensor(np.ascontiguousarray(arr, dtype=np.float32), device=device)


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Logits (float32, ``[len(x), num_classes]``) in eval mode, batch by batch."""
    dev = next(model.parameters()).device
    arr = np.ascontiguousarray(x, dtype=np.float32)
    return predict_tensor_logits(model, torch.as_tensor(arr, device=dev), batch_size)


def predict_tensor_logits(
    model: nn.Module, xt: torch.Tensor, batch_size: int = 4096
) -> np.ndarray:
    """``predict_logits`` on a tensor already on the model's device."""
    if batch_size < 1:
        raise InvalidArgument("batch_size", "must be at least 1")
    model.eval()
    outputs = []
    with torch.inference_mode():
        # An empty x still runs one (empty) batch so the result has the right width.
        for start in range(0, max(xt.shape[0], 1), batch_size):
            outputs.append(model(xt[start : start + batch_size]).float().cpu().numpy())
    return np.concatenate(outputs).astype(np.float32, copy=False)


def evaluate_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    labels = np.asarray(y)
    if labels.shape[0] == 0:
        raise InvalidArgument("y", "no records to evaluate")
    return float((predict_logits(model, x).argmax(axis=1) == labels).mean())
