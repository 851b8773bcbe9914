"""What a server observes from one client, what the threat model grants, and how a client
computes it (so attacks can simulate the client, and tests and benches can produce updates).

Two kinds of observed update:

- ``GradientUpdate`` (FedSGD): the gradient of the client's mean cross-entropy loss over one
  batch, one tensor per trainable parameter of the global model, in ``named_parameters`` order.
- ``WeightDeltaUpdate`` (FedAvg): ``w_client - w_global`` after the client's local training,
  with the ``LocalTraining`` setting (epochs, batch size, lr) the server told it to use.

Every check raises ``InvalidArgument`` naming the offending field; values are never echoed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from leakrange.common.errors import InvalidArgument


@dataclass(frozen=True)
class LocalTraining:
    """The client's local training in FedAvg: ``epochs`` passes over its ``num_samples``
    records in mini-batches of ``batch_size`` (the last one smaller if it does not divide),
    plain SGD with learning rate ``lr``, no shuffling known to the server (batches taken in
    order), mean cross-entropy per mini-batch."""

    epochs: int
    batch_size: int
    lr: float

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 100:
            raise InvalidArgument("local_training.epochs", "must be between 1 and 100")
        if not 1 <= self.batch_size <= 4096:
            raise InvalidArgument("local_training.batch_size", "must be between 1 and 4096")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 100):
            raise InvalidArgument("local_training.lr", "must be a finite number in (0, 100]")

    def steps(self, num_samples: int) -> list[slice]:
        """The mini-batches, as slices into the client's records, in the order they are used."""
        out = []
        for _ in range(self.epochs):
            for start in range(0, num_samples, self.batch_size):
                out.append(slice(start, min(start + self.batch_size, num_samples)))
        return out


@dataclass(frozen=True)
class Knowledge:
    """What the threat model grants the attacker about the attacked batch.

    ``num_samples``: the number of records behind the update (FedSGD: the batch size; FedAvg:
    the client's local data size). ``labels``: the true labels when the threat model grants
    them, else ``None`` (they are then recovered from the update). ``input_shape``: one
    record's shape ``(C, H, W)``. ``num_classes``: the model's output classes. ``mean`` and
    ``std``: per-channel normalisation the model's inputs went through; when given, the search
    is kept inside the box of valid images ``[(0 - mean) / std, (1 - mean) / std]``.
    """

    num_samples: int
    input_shape: tuple[int, ...]
    num_classes: int
    labels: torch.Tensor | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.num_samples <= 4096:
            raise InvalidArgument("knowledge.num_samples", "must be between 1 and 4096")
        if len(self.input_shape) not in (1, 3) or any(int(d) < 1 for d in self.input_shape):
            raise InvalidArgument("knowledge.input_shape", "must be (C, H, W) or (D,) positive")
        if not 2 <= self.num_classes <= 100_000:
            raise InvalidArgument("knowledge.num_classes", "must be between 2 and 100000")
        if self.labels is not None:
            lab = self.labels
            if lab.dtype not in (torch.int64, torch.int32) or lab.shape != (self.num_samples,):
                raise InvalidArgument("knowledge.labels", "must be num_samples integer classes")
            if int(lab.min()) < 0 or int(lab.max()) >= self.num_classes:
                raise InvalidArgument("knowledge.labels", "must be class indices")
        if (self.mean is None) != (self.std is None):
            raise InvalidArgument("knowledge.std", "mean and std must be given together")
        if self.mean is not None and self.std is not None:
            channels = self.input_shape[0]
            if len(self.mean) != channels or len(self.std) != channels:
                raise InvalidArgument("knowledge.mean", "needs one value per input channel")
            if not all(math.isfinite(s) and s > 0 for s in self.std) or not all(
                    math.isfinite(m) for m in self.mean):
                raise InvalidArgument("knowledge.std", "must be finite and > 0")

    def box(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Lower and upper bounds of valid (normalised) inputs, shaped ``[1, C, 1, 1]``."""
        if self.mean is None or self.std is None:
            return None
        m = torch.tensor(self.mean).view(1, -1, 1, 1)
        s = torch.tensor(self.std).view(1, -1, 1, 1)
        return (0 - m) / s, (1 - m) / s


@dataclass(frozen=True)
class GradientUpdate:
    """A FedSGD update: ``gradients[name]`` for each trainable parameter of the model."""

    gradients: Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class WeightDeltaUpdate:
    """A FedAvg update: ``delta[name] = w_client - w_global`` and the client's local setting."""

    delta: Mapping[str, torch.Tensor]
    training: LocalTraining = field(default_factory=lambda: LocalTraining(1, 1, 0.1))


def trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def check_tensors(model: nn.Module, tensors: Mapping[str, torch.Tensor], name: str
                  ) -> list[torch.Tensor]:
    """The observed tensors in the model's parameter order, checked against its shapes."""
    params = trainable(model)
    if not params:
        raise InvalidArgument("model", "has no trainable parameters")
    unknown = sorted(set(tensors) - set(params))
    if unknown:
        raise InvalidArgument(f"{name}", f"{len(unknown)} tensor(s) name no model parameter")
    out = []
    for pname, p in params.items():
        if pname not in tensors:
            raise InvalidArgument(f"{name}.{pname}", "missing")
        t = tensors[pname]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise InvalidArgument(f"{name}.{pname}", "must be a floating-point tensor")
        if tuple(t.shape) != tuple(p.shape):
            raise InvalidArgument(f"{name}.{pname}",
                                  f"shape {list(t.shape)} differs from the parameter's "
                                  f"{list(p.shape)}")
        if not bool(torch.isfinite(t).all()):
            raise InvalidArgument(f"{name}.{pname}", "contains NaN or infinite values")
        out.append(t.detach().to(dtype=p.dtype, device=p.device))
    if all(float(t.abs().max()) == 0.0 for t in out):
        raise InvalidArgument(name, "is all zeros: nothing to invert")
    return out


def check_inputs(x: torch.Tensor, y: torch.Tensor, name: str = "inputs") -> None:
    if not x.is_floating_point() or x.ndim < 2:
        raise InvalidArgument(f"{name}", "must be a floating-point batch [N, ...]")
    if not bool(torch.isfinite(x).all()):
        raise InvalidArgument(f"{name}", "contains NaN or infinite values")
    if y.dtype not in (torch.int64, torch.int32) or y.shape != (x.shape[0],):
        raise InvalidArgument("labels", "must be one integer class per input")


def fedsgd_update(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> GradientUpdate:
    """What a FedSGD client sends: the gradient of its mean cross-entropy on ``(x, y)``."""
    check_inputs(x, y)
    params = trainable(model)
    loss = F.cross_entropy(model(x), y.long())
    grads = torch.autograd.grad(loss, list(params.values()))
    return GradientUpdate({n: g.detach() for n, g in zip(params, grads, strict=True)})


def fedavg_update(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  training: LocalTraining) -> WeightDeltaUpdate:
    """What a FedAvg client sends after local SGD on ``(x, y)``: its weight delta.

    The model is not modified: the client trains a functional copy of the parameters.
    """
    check_inputs(x, y)
    from torch.func import functional_call

    params = {n: p.detach().clone() for n, p in trainable(model).items()}
    buffers = dict(model.named_buffers())
    start = {n: p.clone() for n, p in params.items()}
    for sl in training.steps(len(x)):
        cur = {n: p.requires_grad_(True) for n, p in params.items()}
        loss = F.cross_entropy(functional_call(model, (cur, buffers), (x[sl],)), y[sl].long())
        grads = torch.autograd.grad(loss, list(cur.values()))
        params = {n: (p - training.lr * g).detach() for (n, p), g in
                  zip(cur.items(), grads, strict=True)}
    return WeightDeltaUpdate({n: params[n] - start[n] for n in params}, training)


def check_model(model: nn.Module, knowledge: Knowledge) -> None:
    """The model must accept the granted input shape and emit ``num_classes`` logits."""
    if model.training and any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                              for m in model.modules()):
        raise InvalidArgument("model", "BatchNorm layers must be in eval mode (call .eval())")
    probe = torch.zeros((1, *knowledge.input_shape),
                        dtype=next(model.parameters()).dtype)
    try:
        with torch.no_grad():
            out = model(probe)
    except RuntimeError as err:
        raise InvalidArgument("knowledge.input_shape", "the model does not accept it") from err
    if out.ndim != 2 or out.shape[1] != knowledge.num_classes:
        raise InvalidArgument("knowledge.num_classes", "differs from the model's output width")
