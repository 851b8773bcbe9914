"""The two optimisation loops behind the gradient-matching attacks.

``adam_search`` moves ``R`` restarts at once (one tensor ``[R, B, ...]``) with Adam on the
sign of the gradient ("signed Adam", Geiping et al. 2020, Sec. 4), a step schedule that divides
the learning rate by 10 at 3/8, 5/8 and 7/8 of the iterations (their reference code), and the
search clamped to the box of valid images when the threat model gives the normalisation.

``lbfgs_search`` runs L-BFGS (as Zhu et al. 2019 and Zhao et al. 2020 do), one restart after
the other because L-BFGS's line search and curvature pairs belong to one problem; it stops a
restart once the objective falls below ``tolerance`` and skips the remaining restarts then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from leakrange.common.errors import InvalidArgument

Objective = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class SearchResult:
    x: torch.Tensor             # [R, B, ...]
    y_logits: torch.Tensor | None
    losses: torch.Tensor        # [R], final objective of each restart
    iterations: int


def check_positive(name: str, value: float, upper: float) -> None:
    if not (value == value and 0 < value <= upper):
        raise InvalidArgument(name, f"must be in (0, {upper:g}]")


def check_budget(restarts: int, iterations: int) -> None:
    """The search budget every optimisation attack takes: 1-64 restarts, 1-100000 iterations."""
    if not 1 <= restarts <= 64:
        raise InvalidArgument("params.restarts", "must be between 1 and 64")
    if not 1 <= iterations <= 100_000:
        raise InvalidArgument("params.iterations", "must be between 1 and 100000")


def init_inputs(restarts: int, shape: tuple[int, ...], seed: int,
                box: tuple[torch.Tensor, torch.Tensor] | None, smooth: bool = False
                ) -> torch.Tensor:
    """Random starting points ``[restarts, *shape]``: standard normal, or for images
    (``shape`` = ``(B, C, H, W)``) with ``smooth`` standard normal blurred by a 5x5 box
    filter and scaled by 2 (less high-frequency energy to remove); clamped to ``box``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((restarts, *shape), generator=gen)
    if smooth and len(shape) == 4 and min(shape[2:]) >= 5:
        flat = x.flatten(0, 1)
        x = 2 * torch.nn.functional.avg_pool2d(flat, 5, 1, 2, count_include_pad=False
                                               ).view_as(x)
    if box is not None:
        x = torch.max(torch.min(x, box[1]), box[0])
    return x


def step_schedule(opt: torch.optim.Optimizer, iterations: int
                  ) -> torch.optim.lr_scheduler.LRScheduler:
    milestones = sorted({int(iterations * f) for f in (3 / 8, 5 / 8, 7 / 8)})
    return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)


def adam_search(objective: Objective, x0: torch.Tensor, *, iterations: int, lr: float,
                signed: bool, box: tuple[torch.Tensor, torch.Tensor] | None,
                schedule: bool = True) -> SearchResult:
    """Minimise ``objective(x, None) -> [R]`` over ``x [R, B, ...]`` for every restart at once."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    sched = step_schedule(opt, iterations) if schedule else None
    lo = hi = None
    if box is not None:
        lo, hi = box[0].unsqueeze(0), box[1].unsqueeze(0)
    for _ in range(iterations):
        opt.zero_grad(set_to_none=True)
        loss = objective(x, None)
        (grad,) = torch.autograd.grad(loss.sum(), [x])
        x.grad = grad.sign() if signed else grad
        opt.step()
        if sched is not None:
            sched.step()
        if lo is not None and hi is not None:
            with torch.no_grad():
                x.copy_(torch.max(torch.min(x, hi), lo))
    final = objective(x.detach(), None).detach()
    return SearchResult(x.detach(), None, final, iterations)


def _lbfgs_restart(objective: Objective, x: torch.Tensor, y: torch.Tensor | None, *,
                   iterations: int, lr: float, tolerance: float, line_search: bool
                   ) -> tuple[float, int]:
    """L-BFGS on one restart (``x``, ``y`` are leaves updated in place): final loss, evals."""
    variables = [x] if y is None else [x, y]
    opt = torch.optim.LBFGS(variables, lr=lr, max_iter=20, history_size=100,
                            tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe" if line_search else None)
    evals = 0

    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        opt.zero_grad(set_to_none=True)
        loss = objective(x, y).sum()
        loss.backward()
        return loss

    best = float("inf")
    while evals < iterations:
        before = evals
        value = float(opt.step(closure).detach())
        if value != value:  # NaN: the search diverged
            return float("inf"), evals
        best = min(best, value)
        if best < tolerance or evals == before:
            break
    final = float(objective(x.detach(), None if y is None else y.detach()).sum().detach())
    return (final if final == final else float("inf")), evals


def lbfgs_search(objective: Objective, x0: torch.Tensor, y0: torch.Tensor | None, *,
                 iterations: int, lr: float, tolerance: float, line_search: bool
                 ) -> SearchResult:
    """Minimise ``objective(x[r:r+1], y[r:r+1]) -> [1]`` for each restart ``r`` with L-BFGS.

    ``y0`` (label logits ``[R, B, K]``) is optimised jointly when given (DLG), else labels are
    fixed inside the objective (iDLG). ``iterations`` bounds the objective evaluations per
    restart. Restarts after the first that reaches ``tolerance`` are not run (the result then
    holds fewer than ``R`` restarts).
    """
    xs, ys, losses = [], [], []
    used = 0
    for r in range(x0.shape[0]):
        x = x0[r:r + 1].clone().requires_grad_(True)
        y = None if y0 is None else y0[r:r + 1].clone().requires_grad_(True)
        final, evals = _lbfgs_restart(objective, x, y, iterations=iterations, lr=lr,
                                      tolerance=tolerance, line_search=line_search)
        used += evals
        xs.append(x.detach())
        if y is not None:
            ys.append(y.detach())
        losses.append(final)
        if final < tolerance:
            break
    y_all = torch.cat(ys) if ys else None
    return SearchResult(torch.cat(xs), y_all, torch.tensor(losses), used)
