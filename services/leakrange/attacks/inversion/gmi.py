"""White-box generative model inversion: search the latent space of a generator the adversary
trained on its own data for codes the target assigns to each class.

Zhang, Jia, Pei, Wang, Li, Song. "The Secret Revealer: Generative Model-Inversion Attacks
Against Deep Neural Networks." CVPR 2020 (GMI). GMI's identity loss ``-log f_c(G(z))`` with a
prior that keeps ``z`` likely under the generator's latent distribution (here the VAE's
standard normal, in place of GMI's discriminator term); random restarts in one batch, the best
per class kept. The generator is the adversary's (``generator.py``), never the range's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.generator import decode, train_generator
from leakrange.attacks.inversion.input_space import (
    InputSpace,
    attacked_classes,
    best_per_class,
    local_model,
)
from leakrange.common.attack_info import RECONSTRUCTION
from leakrange.models.device import pick_device


class GeneratorParams(AttackParams):
    classes: list[int] | None = Field(default=None, max_length=1000,
                                      description="Classes to invert (default: all).")
    latent_dim: int = Field(default=16, ge=2, le=512, description="Generator latent size.")
    generator_epochs: int = Field(default=30, ge=1, le=1000,
                                  description="Epochs to train the generator on own data.")
    restarts: int = Field(default=8, ge=1, le=256, description="Random starts per class.")
    prior_weight: float = Field(default=0.01, ge=0.0, le=100.0,
                                description="Weight of the latent prior |z|^2 / 2.")


class GmiParams(GeneratorParams):
    steps: int = Field(default=200, ge=1, le=100_000, description="Gradient steps in z.")
    lr: float = Field(default=0.05, gt=0.0, le=10.0, description="Adam step size.")


class GmiAttack(Attack):
    name = "gmi"
    family = "inversion"
    summary = "Searches an own generator's latent space with the model's gradients."
    paper = ("Zhang et al., The Secret Revealer: Generative Model-Inversion Attacks Against "
             "Deep Neural Networks, CVPR 2020")
    Params = GmiParams
    requires_white_box = True
    result_kind = RECONSTRUCTION

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, GmiParams)
        device = pick_device()
        model = local_model(ctx, self.name, device)
        space = InputSpace.of(ctx)
        classes = attacked_classes(params.classes, ctx.target.describe().num_classes)
        decoder = train_generator(ctx, space, params.latent_dim, params.generator_epochs, device)
        r = params.restarts
        gen = torch.Generator().manual_seed(ctx.seed + 1)
        z = torch.randn((len(classes) * r, params.latent_dim), generator=gen).to(device)
        z.requires_grad_(True)
        target = torch.as_tensor(np.repeat(classes, r), device=device)
        opt = torch.optim.Adam([z], lr=params.lr)
        loss = torch.zeros(len(target), device=device)
        for step in range(params.steps):
            if step % 25 == 0:
                ctx.check_cancelled()
                ctx.progress("inverting", step, params.steps, "latent steps")
            loss = (F.cross_entropy(model(decoder(z)), target, reduction="none")
                    + params.prior_weight * 0.5 * z.pow(2).sum(dim=1))
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
        best = best_per_class(loss, len(classes), r)
        return AttackOutput(reconstructions=decode(decoder, z.detach()[best]),
                            reconstructed_labels=classes,
                            facts={"restarts": float(r), "steps": float(params.steps)})
