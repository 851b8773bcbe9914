"""What one training returns: the model, the epochs it ran, and DP-SGD's accounting."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class DpAccounting:
    """What the accountant says about one DP-SGD training."""

    epsilon: float  # spent, for the steps actually taken
    delta: float
    noise_multiplier: float  # the nominal sigma the accountant was told
    sample_rate: float
    steps: int
    max_grad_norm: float


@dataclass(frozen=True, eq=False)
class Fitted:
    model: nn.Module
    epochs_run: int
    accounting: DpAccounting | None = None
