"""Inverting Gradients (Geiping, Bauermeister, Droege, Moeller, NeurIPS 2020).

Matches the *direction* of a client's FedSGD gradient (cosine distance over all parameters)
instead of its magnitude, with a total-variation prior on images, optimised with signed Adam
steps and a step-size schedule, images boxed into the data range [0, 1]; labels are read off
the last layer first. Restarts run batched. The attack itself is
``leakrange.fl_attacks.inverting_gradients``; this module feeds it each observed update.
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
    gradient_update,
    knowledge,
    solution,
)
from leakrange.attacks.federated.observation import Observation
from leakrange.fl_attacks import IGParams, inverting_gradients


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
            return solution(inverting_gradients(
                model, gradient_update(obs, model, r, k), knowledge(obs, r, k),
                IGParams(restarts=p.restarts, iterations=p.iterations, lr=p.step,
                         tv_weight=p.tv, seed=seed)))

        return attack_updates(ctx, p, solve)
