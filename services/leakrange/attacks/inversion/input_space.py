"""What every inversion attack needs about the input space: its shape, its value range (from
the adversary's own records), the target as a differentiable local model, and image priors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition


@dataclass(frozen=True)
class InputSpace:
    """Shape and value range of the target's inputs (the adversary knows the data's domain)."""

    shape: tuple[int, ...]
    low: float
    high: float

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @classmethod
    def of(cls, ctx: RunContext) -> InputSpace:
        known = [ctx.audit_x] + ([ctx.population_x] if ctx.population_x is not None else [])
        low = min(float(x.min()) for x in known)
        high = max(float(x.max()) for x in known)
        if not high > low:
            raise FailedPrecondition("data.audit.x: inputs have no value range")
        return cls(tuple(int(d) for d in ctx.audit_x.shape[1:]), low, high)


def attacked_classes(classes: list[int] | None, num_classes: int) -> np.ndarray:
    if classes is None:
        return np.arange(num_classes, dtype=np.int64)
    chosen = np.asarray(sorted(set(classes)), dtype=np.int64)
    if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= num_classes:
        raise FailedPrecondition(f"params.classes: must be class indices below {num_classes}")
    return chosen


def local_model(ctx: RunContext, attack: str, device: torch.device) -> nn.Module:
    """The target's weights (GetWeights); refused unless the policy is white-box."""
    from leakrange.models import model_from_bytes

    if not ctx.target.describe().white_box:
        raise FailedPrecondition(f"threat_model.access: attack '{attack}' needs white-box access")
    model, _, _ = model_from_bytes(ctx.store.get_bytes(ctx.target.get_weights()))
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation per image of ``x`` [n, C, H, W] (mean absolute neighbour
    difference); zeros for non-image inputs."""
    if x.ndim != 4:
        return torch.zeros(x.shape[0], device=x.device)
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw


def best_per_class(loss: torch.Tensor, n_classes: int, restarts: int) -> torch.Tensor:
    """Index (into a [classes * restarts] batch laid out class-major) of each class's best
    restart (lowest loss)."""
    per = loss.detach().reshape(n_classes, restarts)
    return torch.arange(n_classes, device=loss.device) * restarts + per.argmin(dim=1)
