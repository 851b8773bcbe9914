"""A client's local training, as the range's ClientApp runs it: plain SGD (no momentum, no weight
decay) on the mean cross-entropy, ``local_epochs`` passes over the partition in mini-batches of
``batch_size``, in an order drawn from (seed, round, client). With one batch and one epoch this
is FedSGD (McMahan et al. 2017): the update is ``lr`` times the batch gradient.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def local_steps(records: int, batch_size: int, local_epochs: int) -> int:
    return local_epochs * -(-records // batch_size)


def batch_order(records: int, seed: int, server_round: int, client: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([seed, server_round, client, 0x5D]))
    return rng.permutation(records)


def train_locally(model: nn.Module, x: np.ndarray, y: np.ndarray, *, lr: float, batch_size: int,
                  local_epochs: int, seed: int, server_round: int, client: int) -> float:
    """Train ``model`` in place; returns the mean training loss of the last epoch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(y)
    model.train()
    last = 0.0
    for epoch in range(local_epochs):
        order = batch_order(len(x), seed, server_round * 1000 + epoch, client)
        total = 0.0
        for start in range(0, len(x), batch_size):
            rows = torch.from_numpy(order[start:start + batch_size])
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[rows]), yt[rows])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        last = total / len(x)
    return last
