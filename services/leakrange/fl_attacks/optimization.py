"""The two optimisation loops behind the gradient-matching attacks.

``adam_search`` moves ``R`` restarts at once (one tensor ``[R, B, ...]``) with Adam on the
sign of the gradient ("signed Adam", Geiping et al. 2020, Sec. 4), a step schedule that divides
the learning rate by 10 at 3/8, 5/8 and 7/8 of the iterations (their reference code), and the
search clamped to the box of valid images when the threat model gives the normalisation.

``lbfgs_search`` runs L-BFGS (as Zhu et al. 2019 and Zhao et al. 2020 do), one restart after
the other because L-BFGS's line search and curvature pairs belong to one problem; it stops a
restart once the objective falls below ``tolerance`` and skips the remaining restarts then.
With the papers' fixed step it is the iteration ``torch.optim.LBFGS`` runs (100 pairs), with the
inverse-Hessian product in compact matrix form (``_History``); with ``line_search`` it is
``torch.optim.LBFGS`` with strong-Wolfe.

Both loops are written out rather than driven through ``torch.optim`` because, measured at 1
thread on the benchmark's models (``tools/bench/federated.py``), the optimiser was a large share
of the time: ``torch.optim``'s first optimiser in a process imports ``torch._dynamo`` (about 3
CPU s, a third of a 200-step Inverting Gradients run on ResNet-20), and ``LBFGS``'s two-loop
recursion cost 2.6 ms of Python per evaluation next to a 3.9 ms DLG-LeNet evaluation.
"""

from __future__ import annotations

import math
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


def step_factors(iterations: int, schedule: bool) -> list[float]:
    """The learning-rate factor of every step: 1, then divided by 10 at 3/8, 5/8 and 7/8 of
    ``iterations`` (Geiping et al.'s reference schedule, ``MultiStepLR`` with gamma 0.1)."""
    if not schedule:
        return [1.0] * iterations
    milestones = sorted({int(iterations * f) for f in (3 / 8, 5 / 8, 7 / 8)})
    return [0.1 ** sum(1 for m in milestones if m <= i) for i in range(iterations)]


def adam_search(objective: Objective, x0: torch.Tensor, *, iterations: int, lr: float,
                signed: bool, box: tuple[torch.Tensor, torch.Tensor] | None,
                schedule: bool = True) -> SearchResult:
    """Minimise ``objective(x, None) -> [R]`` over ``x [R, B, ...]`` for every restart at once.

    Adam (Kingma and Ba 2015, Algorithm 1: betas 0.9 / 0.999, eps 1e-8, bias-corrected; the
    update ``torch.optim.Adam`` makes) written out as five in-place tensor operations on the
    one search tensor. Measured (ResNet-20, batch 1, 1 thread): ``torch.optim.Adam`` cost about
    3 CPU s once per process (its first construction imports ``torch._dynamo``), a fifth of a
    200-step attack, plus its scheduler's per-step Python; the gradient matching itself is the
    same double backward ``breaching`` runs (31 ms a step, within 2 % of a bare
    ``autograd.grad(create_graph=True)`` of the model).
    """
    x = x0.clone().requires_grad_(True)
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    lo = hi = None
    if box is not None:
        lo, hi = box[0].unsqueeze(0), box[1].unsqueeze(0)
    for i, factor in enumerate(step_factors(iterations, schedule)):
        loss = objective(x, None)
        (grad,) = torch.autograd.grad(loss.sum(), [x])
        with torch.no_grad():
            g = grad.sign() if signed else grad
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            t = i + 1
            denom = (v.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)
            x.addcdiv_(m, denom, value=-lr * factor / (1 - beta1 ** t))
            if lo is not None and hi is not None:
                x.copy_(torch.max(torch.min(x, hi), lo))
    final = objective(x.detach(), None).detach()
    return SearchResult(x.detach(), None, final, iterations)


class _History:
    """L-BFGS curvature pairs in the compact form of Byrd, Nocedal and Schnabel ("Representations
    of quasi-Newton matrices and their use in limited memory methods", Math. Prog. 63, 1994,
    Eq. 3.1-3.3), so ``H g`` is four matrix-vector products and two ``m x m`` triangular
    solves instead of the two-loop recursion's ``4 m`` small operations (the same matrix, to
    rounding). ``s`` and ``y`` live in preallocated ``[m, n]`` ring buffers (rows in slot
    order); ``S Y^T`` and ``Y Y^T`` are kept per slot in float64 and put in chronological
    order only as ``m x m`` matrices."""

    def __init__(self, size: int, n: int, dtype: torch.dtype) -> None:
        self.size = size
        self.s = torch.zeros(size, n, dtype=dtype)
        self.y = torch.zeros(size, n, dtype=dtype)
        self.sy = torch.zeros(size, size, dtype=torch.float64)   # [i, j] = s_i . y_j
        self.yy = torch.zeros(size, size, dtype=torch.float64)
        self.order: list[int] = []                                # slots, oldest first
        self.gamma = 1.0

    def add(self, s: torch.Tensor, y: torch.Tensor, ys: float) -> None:
        slot = self.order.pop(0) if len(self.order) == self.size else len(self.order)
        self.s[slot], self.y[slot] = s, y
        self.order.append(slot)
        sy_col = (self.s @ y).double()          # s_i . y_new (stale slots are never read)
        ys_row = (self.y @ s).double()          # s_new . y_j
        yy_col = (self.y @ y).double()
        self.sy[:, slot], self.sy[slot, :] = sy_col, ys_row
        self.sy[slot, slot] = ys
        self.yy[:, slot], self.yy[slot, :] = yy_col, yy_col
        self.gamma = ys / float(self.yy[slot, slot])

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        """``-H g`` for the inverse-Hessian approximation ``H`` (``-g`` without pairs)."""
        if not self.order:
            return -g
        idx = torch.tensor(self.order)
        k = len(self.order)
        gam = self.gamma
        sy = self.sy[idx][:, idx]
        r = torch.triu(sy)
        a, b = (self.s[:k] @ g).double(), (self.y[:k] @ g).double()   # slot order
        a, b = a[idx], b[idx]                                          # chronological
        p = torch.linalg.solve_triangular(r, a[:, None], upper=True)[:, 0]
        inner = torch.diagonal(sy) * p + gam * (self.yy[idx][:, idx] @ p) - gam * b
        q = torch.linalg.solve_triangular(r.T, inner[:, None], upper=False)[:, 0]
        q_slot = torch.empty_like(q)
        p_slot = torch.empty_like(p)
        q_slot[idx], p_slot[idx] = q, p
        dt = g.dtype
        return -(gam * g + q_slot.to(dt) @ self.s[:k] - gam * (p_slot.to(dt) @ self.y[:k]))


DIVERGENCE_FACTOR = 10.0  # a step to more than this times the best objective is halved
HALVINGS = 8              # at most this many times, then the curvature pairs are dropped


def _lbfgs_fixed_step(f: Callable[[torch.Tensor], tuple[float, torch.Tensor]], z: torch.Tensor,
                      *, iterations: int, lr: float, tolerance: float
                      ) -> tuple[torch.Tensor, int]:
    """L-BFGS with a fixed step (Zhu et al. 2019 and Zhao et al. 2020 use step 1, no line
    search), the iteration ``torch.optim.LBFGS(line_search_fn=None, history_size=100)`` runs:
    first step ``lr * min(1, 1 / |g|_1)``, curvature pairs kept when ``y.s > 1e-10``, stop
    once the objective is below ``tolerance`` or the gradient's largest entry below 1e-12.
    (``torch.optim.LBFGS`` also ends a ``step()`` when the step or the change of the objective
    is below ``tolerance_change``, but the search called ``step()`` again with the same
    history, so that never ended a search; it is not a stop here either.) ``f(z) -> (value,
    gradient)`` on the flat variables ``z``; one evaluation per step. Returns the iterate with
    the lowest objective and the evaluations used. Measured (DLG LeNet, 1 thread):
    ``torch.optim.LBFGS``'s two-loop recursion over 100 pairs cost 2.6 ms of Python per
    evaluation on top of the 3.9 ms gradient-matching evaluation itself; this loop costs about
    0.2 ms.

    One safeguard the papers' loop lacks: a fixed step of 1 along a quasi-Newton direction can
    throw the search out of its basin, and on the benchmark's hardest CIFAR-10 image (DLG
    LeNet, ``tools/bench/federated.py``) it did: the objective went from 4e-3 to 0.84 of the
    observed gradient's squared norm in one step, into saturated sigmoids where the gradient
    vanishes, and 2,760 more evaluations never left (4.9 dB). A step whose objective is more
    than ``DIVERGENCE_FACTOR`` times the best one so far (or NaN) is therefore not taken but
    halved, up to ``HALVINGS`` times (each try is an evaluation); if every try fails, the
    curvature pairs are dropped and the search goes on from the last accepted point with the
    first step's rule. The same image then reaches 33 dB; a search that never makes such a
    step runs exactly as before (``tests/unit/test_fl_lbfgs.py``)."""
    hist = _History(100, z.numel(), z.dtype)
    value, g = f(z)
    evals = 1
    first = True
    best_value, best = value, z
    while evals < iterations and value >= tolerance and value == value:
        if float(g.abs().max()) <= 1e-12:
            break
        d = hist.direction(g)
        t = lr * min(1.0, 1.0 / float(g.abs().sum())) if first else lr
        first = False
        for _ in range(HALVINGS):
            step = d * t
            new_value, new_g = f(z + step)
            evals += 1
            # taken unless it is above DIVERGENCE_FACTOR times the best objective (which is
            # >= 0 for gradient distances) or NaN; the last try of the budget is taken anyway
            if new_value - best_value <= (DIVERGENCE_FACTOR - 1.0) * abs(best_value) \
                    or evals >= iterations:
                break
            t *= 0.5
        else:  # no shorter step helped either: drop the curvature pairs, start afresh
            hist = _History(100, z.numel(), z.dtype)
            first = True
            continue
        if math.isnan(new_value):
            break
        y = new_g - g
        ys = float(y @ step)
        if ys > 1e-10:
            hist.add(step, y, ys)
        z, value, g = z + step, new_value, new_g
        if value < best_value:
            best_value, best = value, z
    return best, evals


def _lbfgs_restart(objective: Objective, x: torch.Tensor, y: torch.Tensor | None, *,
                   iterations: int, lr: float, tolerance: float, line_search: bool
                   ) -> tuple[float, int]:
    """L-BFGS on one restart (``x``, ``y`` are leaves updated in place): final loss, evals."""
    if not line_search:
        sizes = [x.numel()] + ([] if y is None else [y.numel()])

        def f(z: torch.Tensor) -> tuple[float, torch.Tensor]:
            parts = [p.view_as(v).to(v.dtype).requires_grad_(True)
                     for p, v in zip(z.split(sizes), [x] if y is None else [x, y], strict=True)]
            loss = objective(parts[0], None if y is None else parts[1]).sum()
            grads = torch.autograd.grad(loss, parts)
            return float(loss.detach()), torch.cat([gr.flatten() for gr in grads])

        z0 = torch.cat([x.detach().flatten()] + ([] if y is None else [y.detach().flatten()]))
        z, evals = _lbfgs_fixed_step(f, z0, iterations=iterations, lr=lr,
                                     tolerance=tolerance)
        with torch.no_grad():
            x.copy_(z[:sizes[0]].view_as(x))
            if y is not None:
                y.copy_(z[sizes[0]:].view_as(y))
        final = float(objective(x.detach(), None if y is None else y.detach()).sum().detach())
        return (final if final == final else float("inf")), evals
    variables = [x] if y is None else [x, y]
    opt = torch.optim.LBFGS(variables, lr=lr, max_iter=20, history_size=100,
                            tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")
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
