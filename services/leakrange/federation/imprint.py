"""The imprint module of "Robbing the Fed" (Fowl, Geiping, Czaja, Goldblum, Goldstein, ICLR
2022), written into a fully connected first layer by a malicious server.

The server sets every row of the first layer to one measurement direction ``v`` (here the mean
brightness, v = 1/d) with biases ``-c_i`` at increasing thresholds ``c_1 < ... < c_k`` (quantiles
of ``v.x`` on public data, so records spread over the bins), and gives the next layer identical
columns, so that every imprint unit passes the same gradient ``g(x)`` back. Unit i is active for
the records with ``v.x > c_i``; the gradient of its weights is the sum of ``g(x) x`` over them
and of its bias the sum of ``g(x)``. A record alone in the bin (c_i, c_{i+1}] is therefore
recovered exactly as ``(dW_i - dW_{i+1}) / (db_i - db_{i+1})``. ``apply`` is what the server
sends; ``recover`` (the attack) reads one client update of that round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# Linear layers of the range's MLPs in order (``models/zoo.py``): fc1, fc2 ..., out.


def linear_names(state: Mapping[str, Any]) -> list[str]:
    """The layers with a weight, in the state dict's order (the model's order)."""
    return [k[:-len(".weight")] for k in state if k.endswith(".weight")]


def thresholds(public_x: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges: quantiles of the brightness of public records (the server's knowledge)."""
    brightness = public_x.reshape(len(public_x), -1).mean(axis=1)
    return np.quantile(brightness, np.linspace(0.0, 1.0, bins + 2)[1:-1]).astype(np.float32)


def apply(state: dict[str, np.ndarray], edges: np.ndarray, seed: int = 0
          ) -> dict[str, np.ndarray]:
    """The crafted global model: ``state`` with its first layer an imprint of ``len(edges)``
    bins (at most its width; spare units are switched off) and the next layer's columns made
    equal and positive."""
    names = linear_names(state)
    if len(names) < 2:
        raise ValueError("the imprint needs a first linear layer followed by another")
    first, second = names[0], names[1]
    out = {k: v.copy() for k, v in state.items()}
    w = out[f"{first}.weight"]
    width, d = w.shape
    k = min(width, len(edges))
    w[:] = 0.0
    w[:k] = 1.0 / d
    b = out[f"{first}.bias"]
    b[:] = -1e3  # spare units never fire
    b[:k] = -edges[:k]
    rng = np.random.default_rng(seed)
    w2 = out[f"{second}.weight"]
    column = rng.uniform(0.5, 1.5, size=(w2.shape[0], 1)).astype(w2.dtype) / width
    w2[:] = column
    return out


def recover(grad_w: np.ndarray, grad_b: np.ndarray, min_bias_grad: float = 1e-7
            ) -> np.ndarray:
    """Records recovered from the first layer's gradients (one per non-empty bin)."""
    dw = grad_w[:-1] - grad_w[1:]
    db = grad_b[:-1] - grad_b[1:]
    last_w, last_b = grad_w[-1:], grad_b[-1:]
    dw, db = np.concatenate([dw, last_w]), np.concatenate([db, last_b])
    keep = np.abs(db) > min_bias_grad * max(float(np.abs(grad_b).max()), 1e-30)
    return (dw[keep] / db[keep, None]).astype(np.float32)
