"""Robbing the Fed: a malicious server's imprint module and the closed-form recovery.

Fowl, Geiping, Czaja, Goldblum and Goldstein, "Robbing the Fed: Directly Obtaining Private
Data in Federated Learning with Modified Models" (ICLR 2022), Sec. 3. The server puts an
imprint block in front of the model: a linear layer of ``k`` bins whose rows are all the same
measurement ``v`` (a random direction, normalised so that ``<v, x>`` is about standard normal
over the data), biases ``-t_i`` at the ``i/k`` quantiles of that distribution, a ReLU, and a
linear layer back to the input shape. Every bin ``i`` is active for the records with
``<v, x> > t_i``, and the gradient a record sends through bin ``i`` is the same for every bin
it activates, so for consecutive bins

    (dL/dW_i - dL/dW_{i+1}) / (dL/db_i - dL/db_{i+1}) = x

exactly, whenever one record alone has its measurement in ``(t_i, t_{i+1}]`` (Eq. 4 there).
Bins holding several records give their average; empty bins give nothing.

``calibration`` lets the server fit the measurement's mean and spread on public data of the
same kind (the paper assumes it knows the distribution of the measurement); without it the
measurement of normalised inputs is taken as standard normal.

The block's layers are an architecture of the range's model specs (``models/imprint.py``,
``ModelSpec.imprint_bins``), so the model crafted here is what the range's malicious Flower
ServerApp sends and what its clients build (one construction for the federation and the attack).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import torch
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.fl_attacks.result import Reconstruction
from leakrange.fl_attacks.updates import GradientUpdate, Knowledge, check_tensors
from leakrange.models.imprint import BLOCK, ImprintBlock, Imprinted

BLOCK_PREFIX = f"{BLOCK}."
MIN_DIFF = 1e-12


@dataclass(frozen=True)
class ImprintParams:
    """``bins``: rows of the imprint layer (the paper uses more bins than the batch size,
    e.g. 4x, so most records fall in a bin of their own); ``gain``: scale of the layer (kept
    small so the modified model behaves like the original); ``seed``: of the measurement."""

    bins: int = 128
    gain: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.bins <= 65_536:
            raise InvalidArgument("params.bins", "must be between 2 and 65536")
        if not (self.gain == self.gain and 0 < self.gain <= 1):
            raise InvalidArgument("params.gain", "must be in (0, 1]")


def imprint_model(model: nn.Module, knowledge: Knowledge, params: ImprintParams | None = None,
                  calibration: torch.Tensor | None = None) -> Imprinted:
    """The malicious server's modification: ``model`` with an imprint block in front.

    ``calibration``: optional public inputs ``[n, *input_shape]`` (n >= 2) to fit the
    measurement's distribution; the victim's records are never needed.
    """
    p = params or ImprintParams()
    shape = tuple(knowledge.input_shape)
    block = ImprintBlock(shape, p.bins)
    size = block.linear0.in_features
    gen = torch.Generator().manual_seed(p.seed)
    v = torch.randn(size, generator=gen, dtype=torch.float64)
    v = (v - v.mean()) / v.std() / size ** 0.5
    mu, sigma = 0.0, 1.0
    if calibration is not None:
        if tuple(calibration.shape[1:]) != shape or calibration.shape[0] < 2:
            raise InvalidArgument("calibration", "must be at least 2 inputs of the input shape")
        if not bool(torch.isfinite(calibration).all()):
            raise InvalidArgument("calibration", "contains NaN or infinite values")
        m = calibration.flatten(1).double() @ v
        mu, sigma = float(m.mean()), max(float(m.std()), 1e-6)
    v = v / sigma
    dist = NormalDist()
    thresholds = torch.tensor([-10.0] + [dist.inv_cdf(i / p.bins) for i in range(1, p.bins)],
                              dtype=torch.float64) + mu / sigma
    with torch.no_grad():
        block.linear0.weight.copy_((v.repeat(p.bins, 1) * p.gain).float())
        block.linear0.bias.copy_((-thresholds * p.gain).float())
        block.linear1.weight.fill_(1.0 / p.gain)
        block.linear1.bias.fill_(-float(thresholds[1:].mean()) if p.bins > 1 else 0.0)
    return Imprinted(block, model)


def recover_imprint(imprinted: Imprinted, update: GradientUpdate, knowledge: Knowledge, *,
                    min_bias_gradient: float = 1e-6) -> Reconstruction:
    """Closed-form inputs from the imprint layer's gradients (``update`` holds gradients of
    every trainable parameter of ``imprinted``, names prefixed ``imprint.`` and ``model.``).

    Returns one input per bin pair that some records fell in, ordered by measurement; a bin
    whose bias-gradient difference is below ``min_bias_gradient`` times the largest is empty.
    ``labels`` is ``None`` (the attack recovers inputs, not labels).
    """
    if not 0 < min_bias_gradient < 1:
        raise InvalidArgument("min_bias_gradient", "must be in (0, 1)")
    observed = check_tensors(imprinted, update.gradients, "update.gradients")
    names = [n for n, q in imprinted.named_parameters() if q.requires_grad]
    try:
        gw = observed[names.index(f"{BLOCK_PREFIX}linear0.weight")].double()
        gb = observed[names.index(f"{BLOCK_PREFIX}linear0.bias")].double()
    except ValueError as err:
        raise InvalidArgument("update.gradients", "has no imprint layer gradients") from err
    # bin i is active for measurements above t_i (t ascending): differences isolate a bin
    dw = gw - torch.cat([gw[1:], torch.zeros_like(gw[:1])])
    db = gb - torch.cat([gb[1:], torch.zeros_like(gb[:1])])
    scale = float(db.abs().max())
    if scale == 0.0:
        raise InvalidArgument("update.gradients", "the imprint layer received no gradient")
    keep = (db.abs() > max(MIN_DIFF, min_bias_gradient * scale)).nonzero().flatten()
    x = dw[keep] / db[keep, None]
    inputs = x.float().reshape(len(keep), *knowledge.input_shape)
    return Reconstruction(inputs=inputs, labels=None, labels_recovered=False,
                          restart_inputs=inputs.unsqueeze(0),
                          restart_losses=torch.zeros(1), best_restart=0, iterations=0)
