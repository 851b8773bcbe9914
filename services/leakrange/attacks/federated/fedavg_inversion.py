"""Inversion of a FedAvg update with several local steps.

A client that trains ``local_epochs`` over mini-batches sends weights, not a gradient. As in
Geiping et al. (NeurIPS 2020, Sec. 5, "Inverting Gradients" for multiple local updates) and
Dimitrov, Balunovic, Konstantinov, Vechev ("Data Leakage in Federated Averaging", TMLR 2022),
the attacker simulates the client's local training on dummy records with the known recipe
(learning rate, batch size, epochs; the unknown shuffling replaced by a fixed order) and
differentiates through the unrolled steps to match the observed weight change in cosine
distance, with a total-variation prior; labels from the last layer's averaged update.
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
    cosine_distance,
    labels_from_last_layer,
    last_weight_name,
    simulate_local_training,
    total_variation,
)
from leakrange.attacks.federated.inversion_loop import LoopSettings, invert
from leakrange.attacks.federated.observation import Observation


class FedAvgInversionParams(UpdateParams):
    iterations: int = Field(default=400, ge=10, le=50_000)
    restarts: int = Field(default=2, ge=1, le=64)
    step: float = Field(default=0.1, gt=0, le=10)
    tv: float = Field(default=1e-4, ge=0, le=10)


class FedAvgInversion(FederatedAttack):
    name: ClassVar[str] = "fedavg_inversion"
    summary: ClassVar[str] = ("Curious server: rebuild a client's records from a FedAvg update "
                              "by simulating its local training steps")
    paper: ClassVar[str] = ("Dimitrov, Balunovic, Konstantinov, Vechev. Data Leakage in "
                            "Federated Averaging. TMLR 2022; Geiping et al. NeurIPS 2020, Sec. 5")
    Params: ClassVar[type[AttackParams]] = FedAvgInversionParams

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        p: FedAvgInversionParams = params  # type: ignore[assignment]

        def solve(obs: Observation, r: int, k: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
            model = obs.model_at(r)
            theta = as_params(obs.globals[r], model)
            delta = obs.delta(r, k)
            target = {n: torch.from_numpy(v.astype(np.float32))
                      for n, v in delta.items() if n in theta}
            n = obs.batch_records(r, k)
            # -delta is lr times the sum of the local gradients: the same sign pattern.
            labels = labels_from_last_layer(-delta[last_weight_name(model)], n)
            onehot = torch.eye(obs.spec.num_classes)[torch.from_numpy(labels)]
            rec = obs.recipe

            def objective(x: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:
                t = onehot.expand(x.shape[0], *onehot.shape)
                sim = simulate_local_training(model, theta, x, t, lr=rec.lr,
                                              batch_size=rec.batch_size,
                                              epochs=rec.local_epochs)
                return cosine_distance(sim, target) + p.tv * total_variation(x)

            x, _, loss = invert(objective, (n, *obs.spec.input_shape),
                                LoopSettings(p.restarts, p.iterations, "adam", p.step, (0.0, 1.0)),
                                seed, None, ctx.check_cancelled)
            return x, labels, {"matching_loss": loss}

        return attack_updates(ctx, p, solve)
