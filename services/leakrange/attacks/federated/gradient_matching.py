"""What the gradient-inversion attacks share: the target model as a pure function of its
parameters (``torch.func``), the client's gradient or weight change recomputed for dummy records
(batched over restarts with ``vmap``), label recovery from the last layer, the matching losses
(L2 as in DLG, cosine as in Inverting Gradients) and the total-variation prior.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.nn import functional as F

Params = dict[str, torch.Tensor]


def as_params(arrays: dict[str, np.ndarray], model: nn.Module) -> Params:
    names = [n for n, _ in model.named_parameters()]
    return {n: torch.from_numpy(np.array(arrays[n], np.float32)) for n in names}


def soft_loss(model: nn.Module) -> Callable[[Params, torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean cross-entropy against soft targets (one-hot targets give the usual loss)."""
    def loss(p: Params, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, p, (x,))
        return -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
    return loss


def batched_gradients(model: nn.Module, params: Params, x: torch.Tensor, target: torch.Tensor
                      ) -> Params:
    """The mean gradient of each restart's dummy batch: x [R, n, ...], target [R, n, C]."""
    return vmap(grad(soft_loss(model)), in_dims=(None, 0, 0))(params, x, target)  # type: ignore[no-any-return]


def simulate_local_training(model: nn.Module, params: Params, x: torch.Tensor,
                            target: torch.Tensor, *, lr: float, batch_size: int, epochs: int
                            ) -> Params:
    """Weight change after the client's local SGD on the dummy batch of each restart
    (differentiable; the unknown shuffling is replaced by a fixed order, Dimitrov et al.)."""
    loss = soft_loss(model)

    def one(x1: torch.Tensor, t1: torch.Tensor) -> Params:
        p = dict(params)
        for _ in range(epochs):
            for start in range(0, x1.shape[0], batch_size):
                g = grad(loss)(p, x1[start:start + batch_size], t1[start:start + batch_size])
                p = {k: p[k] - lr * g[k] for k in p}
        return {k: p[k] - params[k] for k in p}

    return vmap(one)(x, target)  # type: ignore[no-any-return]


def labels_from_last_layer(last_weight_grad: np.ndarray, n: int) -> np.ndarray:
    """iDLG (Zhao et al. 2020): with cross-entropy and non-negative inputs to the last layer,
    only the true class's row of its weight gradient is negative. For n > 1 records: the classes
    with negative rows, most negative first, repeated in that order to fill n (the heuristic of
    Wainakh et al. 2022, "User-Level Label Leakage from Gradients in Federated Learning")."""
    rows = last_weight_grad.reshape(last_weight_grad.shape[0], -1).sum(axis=1)
    order = np.argsort(rows)
    negative = [int(c) for c in order if rows[c] < 0] or [int(order[0])]
    return np.asarray([negative[i % len(negative)] for i in range(n)], np.int64)


def l2_distance(a: Params, b: Params) -> torch.Tensor:
    """Per restart: sum over parameters of ||a - b||^2 (a: batched [R, ...], b: one)."""
    return torch.stack([((a[k] - b[k][None]) ** 2).flatten(1).sum(1) for k in b]).sum(0)


def cosine_distance(a: Params, b: Params) -> torch.Tensor:
    """Per restart: 1 - cosine similarity of the concatenated parameters (Geiping et al.)."""
    dot = torch.stack([(a[k] * b[k][None]).flatten(1).sum(1) for k in b]).sum(0)
    na = torch.stack([(a[k] ** 2).flatten(1).sum(1) for k in b]).sum(0)
    nb = sum(float((b[k] ** 2).sum()) for k in b)
    return 1.0 - dot / (torch.sqrt(na) * (nb ** 0.5) + 1e-12)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Per restart: mean anisotropic total variation of images x [R, n, C, H, W]; 0 else."""
    if x.dim() != 5:
        return torch.zeros(x.shape[0])
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3, 4))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3, 4))
    return dh + dw


def last_weight_name(model: nn.Module) -> str:
    names = [n for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2]
    return names[-1]
