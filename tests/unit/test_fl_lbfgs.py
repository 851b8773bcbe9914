"""The fixed-step L-BFGS of ``fl_attacks.optimization`` against ``torch.optim.LBFGS``.

The compact form (Byrd, Nocedal and Schnabel 1994) must give the two-loop recursion's
direction, and the whole search the iterates ``torch.optim.LBFGS(line_search_fn=None)`` makes
(returning the best of them) as long as no step diverges; a diverging step is rejected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from leakrange.fl_attacks.optimization import _History, _lbfgs_fixed_step


def two_loop(pairs: list[tuple[torch.Tensor, torch.Tensor]], g: torch.Tensor) -> torch.Tensor:
    q, alphas = g.clone(), []
    for s, y in reversed(pairs):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q -= a * y
    s_last, y_last = pairs[-1]
    r = q * (s_last @ y_last) / (y_last @ y_last)
    for (s, y), a in zip(pairs, reversed(alphas), strict=True):
        r += s * (a - (y @ r) / (y @ s))
    return -r


def test_compact_direction_is_the_two_loop_one_after_the_ring_wraps() -> None:
    gen = torch.Generator().manual_seed(0)
    n = 40
    a = torch.randn(n, n, generator=gen, dtype=torch.float64)
    hess = a @ a.T + n * torch.eye(n, dtype=torch.float64)
    hist = _History(5, n, torch.float64)
    pairs = []
    for _ in range(8):                       # 8 pairs into 5 slots: the ring wraps
        s = torch.randn(n, generator=gen, dtype=torch.float64)
        y = hess @ s
        hist.add(s, y, float(y @ s))
        pairs.append((s, y))
    g = torch.randn(n, generator=gen, dtype=torch.float64)
    expected = two_loop(pairs[-5:], g)
    assert torch.allclose(hist.direction(g), expected, rtol=1e-10, atol=1e-12)


Value = Callable[[torch.Tensor], torch.Tensor]


def value_and_gradient(value: Value, visited: list[float] | None = None
                       ) -> Callable[[torch.Tensor], tuple[float, torch.Tensor]]:
    """The ``f(z) -> (value, gradient)`` the range's search takes (records z[0] if asked)."""
    def f(z: torch.Tensor) -> tuple[float, torch.Tensor]:
        if visited is not None:
            visited.append(float(z[0]))
        z = z.clone().requires_grad_(True)
        v = value(z)
        (g,) = torch.autograd.grad(v, [z])
        return float(v.detach()), g
    return f


def torch_fixed_step(value: Value, z0: torch.Tensor, max_iter: int,
                     **options: float) -> tuple[torch.Tensor, list[tuple[float, torch.Tensor]]]:
    """``torch.optim.LBFGS`` without line search from ``z0``: its last point and every point
    it evaluated (value, point), the last one included."""
    x = z0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=max_iter, history_size=100, **options)
    visited: list[tuple[float, torch.Tensor]] = []

    def closure() -> torch.Tensor:
        opt.zero_grad()
        v = value(x)
        v.backward()
        visited.append((float(v.detach()), x.detach().clone()))
        return v

    opt.step(closure)
    visited.append((float(value(x.detach())), x.detach().clone()))  # its last step's point
    return x.detach(), visited


def test_search_makes_torch_lbfgs_iterates() -> None:
    gen = torch.Generator().manual_seed(1)
    n = 30
    a = torch.randn(n, n, generator=gen, dtype=torch.float64)
    hess = a @ a.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, generator=gen, dtype=torch.float64)

    def value(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * z @ hess @ z - b @ z + 0.05 * (z ** 4).sum()

    z0 = torch.randn(n, generator=gen, dtype=torch.float64)
    ours, evals = _lbfgs_fixed_step(value_and_gradient(value), z0.clone(), iterations=40,
                                    lr=1.0, tolerance=-1e9)
    _, visited = torch_fixed_step(value, z0, 39, max_eval=100, tolerance_grad=0.0,
                                  tolerance_change=0.0)
    assert evals == 40 == len(visited)
    # the search returns its best iterate: torch's best point along the same path
    best = min(visited, key=lambda p: p[0])[1]
    assert torch.allclose(ours, best, rtol=1e-8, atol=1e-10)
    assert float(value(ours)) < float(value(z0)) - 1.0    # it did descend


def test_a_step_onto_a_plateau_is_halved_instead_of_taken() -> None:
    """z^2 beside a cliff (z < -0.2: a flat 1,000, no gradient), as saturated sigmoids are
    for gradient matching. From 0.3 the first fixed step (length min(1, 1/|g|)) lands at
    -0.3, on the plateau: the papers' loop (torch.optim.LBFGS without line search) stops
    there, its gradient being zero; the range's search halves that step and reaches 0."""
    def value(z: torch.Tensor) -> torch.Tensor:
        return torch.where(z < -0.2, torch.full_like(z, 1e3), z ** 2).sum()

    z0 = torch.tensor([0.3], dtype=torch.float64)
    x, _ = torch_fixed_step(value, z0, 50, tolerance_grad=1e-12, tolerance_change=0.0)
    assert float(x[0]) == pytest.approx(-0.3) and float(value(x)) == 1e3
    visited: list[float] = []
    ours, evals = _lbfgs_fixed_step(value_and_gradient(value, visited), z0.clone(),
                                    iterations=50, lr=1.0, tolerance=1e-20)
    assert visited[:3] == pytest.approx([0.3, -0.3, 0.0])    # the step, then half of it
    assert float(value(ours)) < 1e-20 and evals == 3
