"""The optimisation loop of the gradient-inversion attacks, batched over restarts: dummy
records for every restart at once, one optimiser, the best restart by its final matching loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

# (x [R, n, ...], extra variables) -> matching loss per restart [R]
Objective = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class LoopSettings:
    restarts: int
    iterations: int
    optimizer: str  # "lbfgs" | "adam"
    step: float
    box: tuple[float, float] | None  # clamp x into this box after every step (None: free)


def invert(objective: Objective, shape: tuple[int, ...], settings: LoopSettings, seed: int,
           extra_shape: tuple[int, ...] | None = None,
           check: Callable[[], None] = lambda: None) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Minimise ``objective`` from random starts; returns the best restart's records, its
    extra variables (DLG's label logits) and its loss."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((settings.restarts, *shape), generator=gen).requires_grad_(True)
    if settings.box is None:
        with torch.no_grad():
            x.sub_(0.5)
    extra = (torch.randn((settings.restarts, *extra_shape), generator=gen).requires_grad_(True)
             if extra_shape is not None else None)
    variables = [x] + ([extra] if extra is not None else [])
    if settings.optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            variables, lr=settings.step, max_iter=20, history_size=50,
            line_search_fn="strong_wolfe")
        steps = max(1, settings.iterations // 20)
    else:
        opt = torch.optim.Adam(variables, lr=settings.step)
        steps = settings.iterations
        sched = torch.optim.lr_scheduler.MultiStepLR(
            opt, milestones=[int(steps * f) for f in (0.375, 0.625, 0.875)], gamma=0.1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = objective(x, extra).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        check()
        opt.step(closure)  # type: ignore[arg-type]
        if settings.optimizer != "lbfgs":
            sched.step()
        if settings.box is not None:
            with torch.no_grad():
                x.clamp_(*settings.box)
    with torch.no_grad():
        losses = objective(x, extra)
        losses = torch.nan_to_num(losses, nan=float("inf"))
        best = int(losses.argmin())
    best_x = x[best].detach().numpy()
    if settings.box is not None:
        best_x = np.clip(best_x, *settings.box)
    best_extra = extra[best].detach().numpy() if extra is not None else None
    return np.nan_to_num(best_x), best_extra, float(losses[best])
