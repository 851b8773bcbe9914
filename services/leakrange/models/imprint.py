"""The imprint block of "Robbing the Fed" (Fowl, Geiping, Czaja, Goldblum, Goldstein, ICLR 2022)
as an architecture: ``linear0 (bins) -> ReLU -> linear1`` back to the input shape, in front of
a model (``ModelSpec.imprint_bins``; built by ``zoo.build_model``).

Only the layers live here, so the range's Flower apps (``.venv-federated``, torch only) build
the malicious server's model from its spec like any other. The weights that make it an imprint
(one measurement direction in every row, thresholds at quantiles of the measurement) are
crafted by ``leakrange.fl_attacks.imprint.imprint_model``, which also reads the records back
out of the gradient (``recover_imprint``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import torch
from torch import nn

# State-dict prefixes of an imprinted model: the block, then the original model.
BLOCK = "imprint"
INNER = "model"
T = TypeVar("T")


class ImprintBlock(nn.Module):
    """``linear0 -> ReLU -> linear1``, from records of ``input_shape`` back to that shape."""

    def __init__(self, input_shape: tuple[int, ...], bins: int) -> None:
        super().__init__()
        size = 1
        for d in input_shape:
            size *= int(d)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.linear0 = nn.Linear(size, bins)
        self.linear1 = nn.Linear(bins, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.linear0(x.flatten(1)))
        return self.linear1(h).unflatten(1, self.input_shape)


class Imprinted(nn.Module):
    """The model a malicious server sends: ``model(imprint(x))``."""

    def __init__(self, block: ImprintBlock, model: nn.Module) -> None:
        super().__init__()
        self.imprint = block
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.imprint(x))


def imprinted_state(block: Mapping[str, T], inner: Mapping[str, T]) -> dict[str, T]:
    """The state dict of ``Imprinted``: the block's (keys ``imprint.*``, as crafted) and the
    model's own behind it (keys prefixed ``model.``), e.g. the current global model."""
    out = {k: v for k, v in block.items() if k.startswith(f"{BLOCK}.")}
    if len(out) != len(block):
        raise ValueError(f"imprint block state keys must start with '{BLOCK}.'")
    out.update({f"{INNER}.{k}": v for k, v in inner.items()})
    return out
