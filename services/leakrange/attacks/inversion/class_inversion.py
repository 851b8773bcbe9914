"""White-box model inversion of class representatives.

Fredrikson, Jha, Ristenpart. "Model Inversion Attacks that Exploit Confidence Information and
Basic Countermeasures." ACM CCS 2015. Gradient descent in input space on the cost
``1 - f_c(x)`` (here the numerically better ``-log f_c(x)``), with the input kept in the
data's range after every step (clipping) and a total-variation prior in place of the paper's
denoising step (Mahendran & Vedaldi, CVPR 2015). Every class and every random restart is one
row of a single batch; each class keeps its best restart.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.input_space import (
    InputSpace,
    attacked_classes,
    best_per_class,
    local_model,
    total_variation,
)
from leakrange.common.attack_info import RECONSTRUCTION
from leakrange.models.device import pick_device


class ClassInversionParams(AttackParams):
    classes: list[int] | None = Field(default=None, max_length=1000,
                                      description="Classes to invert (default: all).")
    restarts: int = Field(default=4, ge=1, le=256, description="Random starts per class.")
    steps: int = Field(default=300, ge=1, le=100_000, description="Gradient steps.")
    lr: float = Field(default=0.05, gt=0.0, le=10.0, description="Adam step size.")
    tv_weight: float = Field(default=0.3, ge=0.0, le=1000.0,
                             description="Weight of the total-variation prior (images).")
    l2_weight: float = Field(default=0.0, ge=0.0, le=1000.0,
                             description="Weight of the input's mean square.")


class ClassInversionAttack(Attack):
    name = "class_inversion"
    family = "inversion"
    summary = "Rebuilds a typical input of each class from the model's weights."
    paper = ("Fredrikson, Jha, Ristenpart, Model Inversion Attacks that Exploit Confidence "
             "Information and Basic Countermeasures, ACM CCS 2015")
    Params = ClassInversionParams
    requires_white_box = True
    result_kind = RECONSTRUCTION

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, ClassInversionParams)
        device = pick_device()
        model = local_model(ctx, self.name, device)
        space = InputSpace.of(ctx)
        classes = attacked_classes(params.classes, ctx.target.describe().num_classes)
        r = params.restarts
        gen = torch.Generator().manual_seed(ctx.seed)
        x0 = torch.rand((len(classes) * r, *space.shape), generator=gen)
        x = (space.low + (space.high - space.low) * x0).to(device).requires_grad_(True)
        target = torch.as_tensor(np.repeat(classes, r), device=device)
        opt = torch.optim.Adam([x], lr=params.lr * (space.high - space.low))
        loss = torch.zeros(len(target), device=device)
        for step in range(params.steps):
            if step % 25 == 0:
                ctx.check_cancelled()
                ctx.progress("inverting", step, params.steps, "gradient steps")
            loss = (F.cross_entropy(model(x), target, reduction="none")
                    + params.tv_weight * total_variation(x)
                    + params.l2_weight * x.flatten(1).pow(2).mean(dim=1))
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(space.low, space.high)
        best = best_per_class(loss, len(classes), r)
        recon = x.detach()[best].cpu().numpy().astype(np.float32)
        return AttackOutput(reconstructions=recon, reconstructed_labels=classes,
                            facts={"restarts": float(r), "steps": float(params.steps)})
