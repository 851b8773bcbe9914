"""Early stopping on a held-out share of the training records (Prechelt, "Early Stopping -
But When?", 1998): keep the weights of the epoch with the lowest held-out loss and stop after
``patience`` epochs without improvement."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from leakrange.common.errors import InvalidArgument
from leakrange.models.recipe import EarlyStopping

_HOLDOUT_STREAM = 0xE4_1157


def holdout(n: int, stopping: EarlyStopping, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows to train on, held-out rows) of ``range(n)``, the same for the same seed."""
    n_val = round(stopping.validation_fraction * n)
    if n_val < 1 or n - n_val < 1:
        raise InvalidArgument("recipe.early_stopping.validation_fraction",
                              "leaves no training or no held-out records")
    rng = np.random.default_rng(np.random.SeedSequence([seed, _HOLDOUT_STREAM]))
    order = rng.permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class EarlyStopper:
    """Tracks the best held-out loss and the weights that reached it."""

    def __init__(self, stopping: EarlyStopping, xv: torch.Tensor, yv: torch.Tensor) -> None:
        self._patience = stopping.patience
        self._xv, self._yv = xv, yv
        self._best = float("inf")
        self._best_state: dict[str, torch.Tensor] | None = None
        self._stale = 0
        self.best_epoch = 0

    @classmethod
    def for_recipe(cls, stopping: EarlyStopping | None,
                   validation: tuple[torch.Tensor, torch.Tensor] | None) -> EarlyStopper | None:
        """The stopper a recipe asks for, or None (no early stopping or no held-out share)."""
        if stopping is None or validation is None:
            return None
        return cls(stopping, *validation)

    def update(self, model: nn.Module, epoch: int) -> bool:
        """Record epoch ``epoch`` (1-based); True when training should stop."""
        was_training = model.training
        model.eval()
        with torch.no_grad():
            loss = float(F.cross_entropy(model(self._xv), self._yv))
        model.train(was_training)
        if loss < self._best:
            self._best, self._stale, self.best_epoch = loss, 0, epoch
            self._best_state = copy.deepcopy(model.state_dict())
            return False
        self._stale += 1
        return self._stale >= self._patience

    def restore(self, model: nn.Module) -> None:
        if self._best_state is not None:
            model.load_state_dict(self._best_state)
