"""Deep Leakage from Gradients (Zhu, Liu, Han, NeurIPS 2019), as an attack of the range.

The curious server holds a client's FedSGD update, i.e. the mean gradient of its batch. DLG
optimises dummy records *and* dummy (soft) labels with L-BFGS so that their gradient matches
the observed one in squared L2 distance; the recovered labels are the argmax of the dummy
labels. The attack itself is ``leakrange.fl_attacks.dlg``; this module feeds it each observed
update (``base.gradient_update``, ``base.knowledge``).
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
from leakrange.fl_attacks import DLGParams, dlg


class DlgParams(UpdateParams):
    iterations: int = Field(default=300, ge=20, le=20_000,
                            description="objective evaluations per restart")
    restarts: int = Field(default=2, ge=1, le=64)
    step: float = Field(default=1.0, gt=0, le=10, description="L-BFGS step size")
    line_search: bool = Field(default=False, description="strong-Wolfe line search (False: "
                              "the paper's fixed step)")


class Dlg(FederatedAttack):
    name: ClassVar[str] = "dlg"
    summary: ClassVar[str] = ("Curious server: rebuild a client's batch and labels by matching "
                              "its FedSGD gradient (L2, L-BFGS)")
    paper: ClassVar[str] = "Zhu, Liu, Han. Deep Leakage from Gradients. NeurIPS 2019"
    Params: ClassVar[type[AttackParams]] = DlgParams

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        p: DlgParams = params  # type: ignore[assignment]

        def solve(obs: Observation, r: int, k: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
            model = obs.model_at(r)
            return solution(dlg(model, gradient_update(obs, model, r, k), knowledge(obs, r, k),
                                DLGParams(restarts=p.restarts, iterations=p.iterations,
                                          lr=p.step, line_search=p.line_search, seed=seed)))

        return attack_updates(ctx, p, solve)
