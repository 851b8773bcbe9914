"""Deep Leakage from Gradients (Zhu, Liu, Han, NeurIPS 2019).

The curious server holds a client's FedSGD update, i.e. the mean gradient of its batch. DLG
optimises dummy records *and* dummy (soft) labels with L-BFGS so that their gradient matches
the observed one in squared L2 distance; the recovered labels are the argmax of the dummy
labels. Batched over restarts; the best restart (lowest matching loss) is returned.
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
    l2_distance,
)
from leakrange.attacks.federated.inversion_loop import LoopSettings, invert
from leakrange.attacks.federated.observation import Observation


class DlgParams(UpdateParams):
    iterations: int = Field(default=300, ge=20, le=20_000)
    restarts: int = Field(default=2, ge=1, le=64)
    step: float = Field(default=1.0, gt=0, le=10)


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
            theta = as_params(obs.globals[r], model)
            target = {n: torch.from_numpy(v.astype(np.float32))
                      for n, v in obs.gradient(r, k).items() if n in theta}
            n = obs.batch_records(r, k)
            classes = obs.spec.num_classes

            def objective(x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
                assert z is not None
                g = batched_gradients(model, theta, x, torch.softmax(z, dim=-1))
                return l2_distance(g, target)

            x, z, loss = invert(objective, (n, *obs.spec.input_shape),
                                LoopSettings(p.restarts, p.iterations, "lbfgs", p.step, None),
                                seed, (n, classes), ctx.check_cancelled)
            assert z is not None
            return x, z.argmax(axis=-1).astype(np.int64), {"matching_loss": loss}

        return attack_updates(ctx, p, solve)
