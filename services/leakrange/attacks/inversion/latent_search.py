"""Black-box model inversion through ``Predict`` only: gradient-free search in the latent space
of the adversary's own generator, guided by the API's confidence in each class.

The search is natural evolution strategies with antithetic sampling (Wierstra et al., JMLR
2014; used for black-box inversion by Kahla et al., "Label-Only Model Inversion Attacks via
Boundary Repulsion", CVPR 2022, and Han et al., "Reinforcement Learning-Based Black-Box Model
Inversion Attacks", CVPR 2023, on a GMI-style generator). Each step queries one batch:
classes x restarts x 2 x samples latent codes. The whole budget is checked before any query.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.generator import decode, train_generator
from leakrange.attacks.inversion.gmi import GeneratorParams
from leakrange.attacks.inversion.input_space import InputSpace, attacked_classes
from leakrange.attacks.mia.signals import TargetOracle, require_outputs
from leakrange.common.attack_info import RECONSTRUCTION
from leakrange.models.device import pick_device


class LatentSearchParams(GeneratorParams):
    restarts: int = Field(default=2, ge=1, le=64, description="Search points per class.")
    steps: int = Field(default=30, ge=1, le=10_000, description="Search steps.")
    samples: int = Field(default=10, ge=1, le=512,
                         description="Antithetic sample pairs per point and step.")
    sigma: float = Field(default=0.5, gt=0.0, le=10.0, description="Search radius in z.")
    lr: float = Field(default=0.5, gt=0.0, le=100.0, description="Step size in z.")


def queries_needed(n_classes: int, p: LatentSearchParams) -> int:
    return n_classes * p.restarts * (2 * p.samples * p.steps + 1)


class LatentSearchAttack(Attack):
    name = "latent_search"
    family = "inversion"
    summary = "Searches an own generator's latent space using only the API's confidences."
    paper = ("Wierstra et al., Natural Evolution Strategies, JMLR 2014; applied as in Han et "
             "al., Reinforcement Learning-Based Black-Box Model Inversion Attacks, CVPR 2023")
    Params = LatentSearchParams
    supported_outputs = ("logits", "probabilities", "topk")
    result_kind = RECONSTRUCTION

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, LatentSearchParams)
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        classes = attacked_classes(params.classes, oracle.desc.num_classes)
        oracle.ensure_budget(queries_needed(len(classes), params), self.name)
        device = pick_device()
        space = InputSpace.of(ctx)
        decoder = train_generator(ctx, space, params.latent_dim, params.generator_epochs, device)
        n, k, d = len(classes) * params.restarts, params.samples, params.latent_dim
        labels = np.repeat(classes, params.restarts)
        gen = torch.Generator().manual_seed(ctx.seed + 2)
        z = torch.randn((n, d), generator=gen).to(device)

        def fitness(codes: torch.Tensor, y: np.ndarray) -> torch.Tensor:
            log_p = oracle.signals(decode(decoder, codes), y, "searching").log_prob
            prior = 0.5 * params.prior_weight * codes.pow(2).sum(dim=1)
            return torch.as_tensor(log_p, dtype=torch.float32, device=device) - prior

        for step in range(params.steps):
            ctx.check_cancelled()
            ctx.progress("searching", step, params.steps, "search steps")
            eps = torch.randn((n, k, d), generator=gen).to(device)
            codes = torch.cat([z[:, None] + params.sigma * eps, z[:, None] - params.sigma * eps],
                              dim=1).reshape(n * 2 * k, d)
            f = fitness(codes, np.repeat(labels, 2 * k)).reshape(n, 2, k)
            diff = f[:, 0] - f[:, 1]
            diff = diff / (diff.std(dim=1, keepdim=True) + 1e-8)
            z = z + params.lr * (diff[:, :, None] * eps).mean(dim=1) / params.sigma
        final = fitness(z, labels).reshape(len(classes), params.restarts)
        best = torch.arange(len(classes), device=device) * params.restarts + final.argmax(dim=1)
        return AttackOutput(reconstructions=decode(decoder, z[best]),
                            reconstructed_labels=classes,
                            facts={"restarts": float(params.restarts),
                                   "steps": float(params.steps)})
