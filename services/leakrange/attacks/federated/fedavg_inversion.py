"""Inversion of a FedAvg update with several local steps.

A client that trains ``local_epochs`` over mini-batches sends weights, not a gradient. As in
Geiping et al. (NeurIPS 2020, Sec. 5, "Inverting Gradients" for multiple local updates) and
Dimitrov, Balunovic, Konstantinov, Vechev ("Data Leakage in Federated Averaging", TMLR 2022),
the attacker simulates the client's local training on dummy records with the known recipe
(learning rate, batch size, epochs; the unknown shuffling replaced by a fixed order) and
differentiates through the unrolled steps to match the observed weight change in cosine
distance, with a total-variation prior; labels from the last layer's averaged update. The
attack itself is ``leakrange.fl_attacks.fedavg_inversion``; this module feeds it each observed
update (``base.delta_update``: the weight change and the recipe's local training).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.base import (
    FederatedAttack,
    UpdateParams,
    attack_updates,
    delta_update,
    knowledge,
    solution,
)
from leakrange.attacks.federated.observation import Observation
from leakrange.fl_attacks import FedAvgParams, fedavg_inversion


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
            return solution(fedavg_inversion(
                model, delta_update(obs, model, r, k), knowledge(obs, r, k),
                FedAvgParams(restarts=p.restarts, iterations=p.iterations, lr=p.step,
                             tv_weight=p.tv, seed=seed)))

        return attack_updates(ctx, p, solve)
