"""Label recovery from the last layer's update, before any optimisation.

- ``idlg_label`` (batch of one): Zhao, Mopuri and Bilen, "iDLG: Improved Deep Leakage from
  Gradients" (arXiv:2001.02610, 2020), Sec. 3.1. With cross-entropy, the gradient of the last
  layer's logit ``c`` is ``p_c - y_c``: negative only for the true class. For the weight rows
  ``dL/dW_c = (p_c - y_c) h`` with non-negative features ``h`` (sigmoid or ReLU), so the true
  class is the row whose entries are negative; with a bias the bias gradient says it directly.
- ``batch_labels`` (any batch, repeated classes allowed): the LLG strategy of Wainakh, Ventola,
  Müßig, Keim, Cordero, Zimmer, Grube, Kersting and Mühlhäuser, "User-Level Label Leakage from
  Gradients in Federated Learning" (PoPETs 2022), Sec. 4: every class with a negative summed
  last-layer gradient is in the batch once; the mean impact of one record ``m`` is that negative
  mass over the batch size; the remaining records go, one at a time, to the class whose
  gradient stays the most negative after subtracting ``m`` for each record given to it.
  For a batch of one it is iDLG's rule.
- ``fedavg_batch_labels``: the same counting on the average gradient ``-delta / (lr * steps)``
  implied by a FedAvg weight delta (Dimitrov, Balunović, Konstantinov and Vechev, "Data Leakage
  in Federated Averaging", TMLR 2022, Sec. 4.2 count labels from the last layer's update; this
  uses its first-order approximation, exact for one local step).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.fl_attacks.updates import trainable


def last_layer(model: nn.Module, num_classes: int) -> tuple[int, int | None]:
    """Indices (in parameter order) of the output layer's weight and bias (``None`` if absent).

    The output layer is the last ``nn.Linear`` whose ``out_features`` is ``num_classes``.
    """
    names = list(trainable(model))
    found: tuple[str, nn.Linear] | None = None
    for mname, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == num_classes:
            found = (mname, module)
    if found is None:
        raise InvalidArgument("model", "has no linear output layer to recover labels from")
    prefix = f"{found[0]}." if found[0] else ""
    if f"{prefix}weight" not in names:
        raise InvalidArgument("model", "the output layer's weight is not trainable")
    bias = names.index(f"{prefix}bias") if found[1].bias is not None and \
        f"{prefix}bias" in names else None
    return names.index(f"{prefix}weight"), bias


def class_signal(model: nn.Module, update: Sequence[torch.Tensor], num_classes: int
                 ) -> torch.Tensor:
    """Per class, the summed last-layer gradient (bias if present, else the weight row)."""
    w_idx, b_idx = last_layer(model, num_classes)
    if b_idx is not None:
        return update[b_idx].detach().double()
    return update[w_idx].detach().double().sum(dim=1)


def idlg_label(model: nn.Module, update: Sequence[torch.Tensor], num_classes: int
               ) -> torch.Tensor:
    """The single record's label ``[1]``: the class whose last-layer gradient is negative."""
    return class_signal(model, update, num_classes).argmin().view(1)


def batch_labels(model: nn.Module, update: Sequence[torch.Tensor], num_classes: int,
                 batch_size: int) -> torch.Tensor:
    """``batch_size`` labels (sorted), repeated classes allowed (LLG, Wainakh et al. 2022)."""
    if batch_size == 1:
        return idlg_label(model, update, num_classes)
    signal = class_signal(model, update, num_classes).clone()
    present = (signal < 0).nonzero().flatten()
    if len(present) == 0:
        present = signal.argmin().view(1)
    if len(present) > batch_size:  # keep the most negative classes
        present = present[signal[present].argsort()[:batch_size]]
    impact = signal[present].sum() / batch_size
    labels = [int(c) for c in present]
    signal[present] -= impact
    while len(labels) < batch_size:
        c = int(signal.argmin())
        labels.append(c)
        signal[c] -= impact
    return torch.tensor(sorted(labels), dtype=torch.int64)


def fedavg_batch_labels(model: nn.Module, delta: Sequence[torch.Tensor], num_classes: int,
                        num_samples: int) -> torch.Tensor:
    """Labels of a FedAvg client's records from its weight delta (sign: ``-delta`` ~ gradient)."""
    return batch_labels(model, [-d for d in delta], num_classes, num_samples)
