"""The adversary's generative prior: a small variational autoencoder (Kingma & Welling, ICLR
2014) trained on the adversary's own records (public or non-member data of the same kind).
Its decoder maps a latent code to the input space; the GMI-style attacks search that space.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.input_space import InputSpace
from leakrange.common.errors import FailedPrecondition

HIDDEN = 256


class Decoder(nn.Module):
    """Latent code -> an input in the data's range (sigmoid scaled to [low, high])."""

    def __init__(self, latent: int, space: InputSpace) -> None:
        super().__init__()
        self.space = space
        self.net = nn.Sequential(nn.Linear(latent, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, math.prod(space.shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        unit = torch.sigmoid(self.net(z))
        out = self.space.low + (self.space.high - self.space.low) * unit
        return out.reshape(z.shape[0], *self.space.shape)


def train_generator(ctx: RunContext, space: InputSpace, latent: int, epochs: int,
                    device: torch.device) -> Decoder:
    """Fit a VAE on the adversary's population records and return its decoder (seeded)."""
    if ctx.population_x is None or len(ctx.population_x) < 16:
        raise FailedPrecondition("data.population: the generator needs at least 16 "
                                 "adversary records")
    torch.manual_seed(ctx.seed)
    width = math.prod(space.shape)
    x = torch.tensor(ctx.population_x.reshape(len(ctx.population_x), width), device=device)
    unit = ((x - space.low) / (space.high - space.low)).clamp(0.0, 1.0)
    encoder = nn.Sequential(nn.Linear(width, HIDDEN), nn.ReLU(),
                            nn.Linear(HIDDEN, 2 * latent)).to(device)
    decoder = Decoder(latent, space).to(device)
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    gen = torch.Generator().manual_seed(ctx.seed)
    for epoch in range(epochs):
        ctx.check_cancelled()
        ctx.progress("generator", epoch, epochs, "epochs")
        for batch in torch.randperm(len(unit), generator=gen).split(64):
            xb = unit[batch.to(device)]
            mu, log_var = encoder(xb).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
            logits = decoder.net(z)
            rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
            kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum()
            loss = (rec + kl) / len(xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    decoder.eval()
    for p in decoder.parameters():
        p.requires_grad_(False)
    return decoder


def decode(decoder: Decoder, z: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return decoder(z).cpu().numpy().astype(np.float32)
