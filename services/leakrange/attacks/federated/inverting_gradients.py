"""Inverting Gradients (Geiping, Bauermeister, Droege, Moeller, NeurIPS 2020).

Matches the *direction* of a client's FedSGD gradient (cosine distance over all parameters)
instead of its magnitude, with a total-variation prior on images, optimised with signed Adam
steps and a step-size schedule, records boxed into the data range [0, 1]; labels are read off the
last layer first (as in iDLG). Batched over restarts; the best restart is returned.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import Field

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.base import FederatedAttack, UpdateParams, attack_updates
from leakrange.attacks.federated.gradient_matching import (
    as_params,
    batched_gradients,
    cosine_distance,
    labels_from_last_layer,
    last_weight_name,
    total_variation,
)
from leakrange.attacks.federated.inversion_loop import LoopSettings, invert
from leakrange.attacks.federated.observation import Observation


class InvertingGradientsParams(UpdateParams):
    iterations: int = Field(default=600, ge=10, le=50_000)
    restarts: int = Field(default=4, ge=1, le=64)
    step: float = Field(default=0.1, gt=0, le=10)
    tv: float = Field(default=1e-4, ge=0, le=10, description="weight of the TV prior")


class InvertingGradients(FederatedAttack):
    name: ClassVar[str] = "inverting_gradients"
    summary: ClassVar[str] = ("Curious server: rebuild a client's batch by matching the "
                              "direction of its FedSGD gradient, with a total-variation prior")
    paper: ClassVar[str] = ("Geiping, Bauermeister, Droege, Moeller. Inverting Gradients - How "
                            "easy is it to break privacy in federated learning? NeurIPS 2020")
    Params: ClassVar[type[AttackParams]] = InvertingGradientsParams

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        p: InvertingGradientsParams = params  # type: ignore[assignment]

        def solve(obs: Observation, r: int, k: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
            model = obs.model_at(r)
            theta = as_params(obs.globals[r], model)
            grads = obs.gradient(r, k)
            target = {n: torch.from_numpy(v.astype(np.float32))
                      for n, v in grads.items() if n in theta}
            n = obs.batch_records(r, k)
            labels = labels_from_last_layer(grads[last_weight_name(model)], n)
            onehot = torch.eye(obs.spec.num_classes)[torch.from_numpy(labels)]

            def objective(x: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:
                t = onehot.expand(x.shape[0], *onehot.shape)
                g = batched_gradients(model, theta, x, t)
                return cosine_distance(g, target) + p.tv * total_variation(x)

            x, _, loss = invert(objective, (n, *obs.spec.input_shape),
                                LoopSettings(p.restarts, p.iterations, "adam", p.step, (0.0, 1.0)),
                                seed, None, ctx.check_cancelled)
            return x, labels, {"matching_loss": loss}

        return attack_updates(ctx, p, solve)
