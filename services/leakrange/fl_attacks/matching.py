"""Gradient-matching objectives shared by the optimisation attacks, batched over restarts.

The client's update is simulated for ``R`` candidate batches at once with ``torch.func``
(``vmap`` over ``grad`` of a ``functional_call``), so one optimiser step moves every restart
and the matmuls are ``R`` times larger, which is what keeps a CPU busy. The outer autograd
graph runs through the simulated gradients (second-order), as gradient inversion needs.

- ``euclidean``: the squared L2 distance of Zhu et al. (2019), summed over parameters.
- ``cosine``: one minus the cosine similarity of the whole flattened update, Geiping et al.
  (2020), Eq. (4).
- ``total_variation``: the anisotropic TV prior of Geiping et al. (2020), mean absolute
  difference of neighbouring pixels (as in their reference code).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from leakrange.fl_attacks.updates import trainable

Distance = Literal["euclidean", "cosine"]


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy against hard labels ``[B]`` or label logits ``[B, K]`` (DLG's
    jointly optimised labels, softmax-ed as in Zhu et al. 2019)."""
    if target.dtype in (torch.int64, torch.int32):
        return F.cross_entropy(logits, target.long())
    return -(F.softmax(target, dim=-1) * F.log_softmax(logits, dim=-1)).sum(-1).mean()


class ClientSimulator:
    """Gradients an honest client would send for candidate batches, differentiable in them.

    ``gradients(x, y)`` takes ``x [R, B, *input_shape]`` and labels ``[R, B]`` (ints) or
    ``[R, B, K]`` (logits) and returns one ``[R, *param_shape]`` tensor per parameter.
    ``params`` may be given to evaluate at other weights (for multi-step simulation); they
    are then ``[R, *shape]`` when ``batched_params`` is true.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.names = list(trainable(model))
        self.params = {n: p.detach() for n, p in trainable(model).items()}
        self.buffers = {n: b.detach() for n, b in model.named_buffers()}
        frozen = {n: p.detach() for n, p in model.named_parameters() if n not in self.params}
        self.buffers.update(frozen)
        self._leaves = {n: p.clone().requires_grad_(True) for n, p in self.params.items()}

    def loss(self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
             ) -> torch.Tensor:
        out = functional_call(self.model, (params, self.buffers), (x,))
        return soft_cross_entropy(out, y)

    def gradients(self, x: torch.Tensor, y: torch.Tensor,
                  params: dict[str, torch.Tensor] | None = None,
                  batched_params: bool = False) -> list[torch.Tensor]:
        if x.shape[0] == 1 and not batched_params:
            return self._single(x[0], y[0], params)
        g: Callable[..., dict[str, torch.Tensor]] = grad(self.loss)
        if params is None:
            out = vmap(g, in_dims=(None, 0, 0))(self.params, x, y)
        else:
            out = vmap(g, in_dims=(0 if batched_params else None, 0, 0))(params, x, y)
        return [out[n] for n in self.names]


    def _single(self, x: torch.Tensor, y: torch.Tensor,
                params: dict[str, torch.Tensor] | None) -> list[torch.Tensor]:
        """One restart: plain double-backward autograd (cheaper than ``vmap`` for R = 1)."""
        if params is None:
            params = self._leaves
        else:
            params = {n: p if p.requires_grad else p.detach().requires_grad_(True)
                      for n, p in params.items()}
        loss = self.loss(params, x, y)
        grads = torch.autograd.grad(loss, [params[n] for n in self.names], create_graph=True)
        return [g.unsqueeze(0) for g in grads]


def distance(candidate: Sequence[torch.Tensor], observed: Sequence[torch.Tensor],
             kind: Distance) -> torch.Tensor:
    """Per-restart distance ``[R]`` of candidate updates ``[R, ...]`` to the observed ones."""
    if kind == "euclidean":
        total = None
        for c, o in zip(candidate, observed, strict=True):
            d = ((c - o.unsqueeze(0)) ** 2).flatten(1).sum(1)
            total = d if total is None else total + d
        assert total is not None
        return total
    dot = None
    norm_c = None
    norm_o = None
    for c, o in zip(candidate, observed, strict=True):
        cf, of = c.flatten(1), o.flatten().unsqueeze(0)
        parts = ((cf * of).sum(1), (cf * cf).sum(1), (of * of).sum(1))
        if dot is None:
            dot, norm_c, norm_o = parts
        else:
            assert norm_c is not None and norm_o is not None
            dot, norm_c, norm_o = dot + parts[0], norm_c + parts[1], norm_o + parts[2]
    assert dot is not None and norm_c is not None and norm_o is not None
    return 1.0 - dot / (norm_c.sqrt() * norm_o.sqrt()).clamp_min(1e-12)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Per-restart TV ``[R]`` of images ``[R, B, C, H, W]`` (0 for non-image inputs)."""
    if x.ndim < 5:
        return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).mean(1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).mean(1)
    return dx + dy
