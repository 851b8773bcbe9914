"""The fixed-step L-BFGS of ``fl_attacks.optimization`` against ``torch.optim.LBFGS``.

The compact form (Byrd, Nocedal and Schnabel 1994) must give the two-loop recursion's
direction, and the whole search the iterates ``torch.optim.LBFGS(line_search_fn=None)`` makes.
"""

from __future__ import annotations

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


def test_search_makes_torch_lbfgs_iterates() -> None:
    gen = torch.Generator().manual_seed(1)
    n = 30
    a = torch.randn(n, n, generator=gen, dtype=torch.float64)
    hess = a @ a.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, generator=gen, dtype=torch.float64)

    def value(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * z @ hess @ z - b @ z + 0.05 * (z ** 4).sum()

    def f(z: torch.Tensor) -> tuple[float, torch.Tensor]:
        z = z.clone().requires_grad_(True)
        v = value(z)
        (g,) = torch.autograd.grad(v, [z])
        return float(v.detach()), g

    z0 = torch.randn(n, generator=gen, dtype=torch.float64)
    ours, evals = _lbfgs_fixed_step(f, z0.clone(), iterations=40, lr=1.0, tolerance=-1e9)
    x = z0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=39, max_eval=100, history_size=100,
                            tolerance_grad=0.0, tolerance_change=0.0)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        v = value(x)
        v.backward()
        return v

    opt.step(closure)
    assert evals == 40
    assert torch.allclose(ours, x.detach(), rtol=1e-8, atol=1e-10)
    assert float(value(ours)) < float(value(z0)) - 1.0    # it did descend
