"""Improved Deep Leakage from Gradients, iDLG (Zhao, Mopuri, Bilen, 2020, arXiv:2001.02610).

With cross-entropy, the gradient of the last layer's weights has a negative row only for the
true class (its inputs are non-negative after ReLU), so the label of a single record is read
off the gradient in closed form; the record is then recovered by L2 gradient matching with
L-BFGS as in DLG, labels fixed. For batches the label heuristic extends to the classes with
negative rows (see ``gradient_matching.labels_from_last_layer``).
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
    labels_from_last_layer,
    last_weight_name,
)
from leakrange.attacks.federated.inversion_loop import LoopSettings, invert
from leakrange.attacks.federated.observation import Observation


class IdlgParams(UpdateParams):
    iterations: int = Field(default=300, ge=20, le=20_000)
    restarts: int = Field(default=2, ge=1, le=64)
    step: float = Field(default=1.0, gt=0, le=10)


class Idlg(FederatedAttack):
    name: ClassVar[str] = "idlg"
    summary: ClassVar[str] = ("Curious server: read the label off the last layer's gradient, "
                              "then rebuild the record by gradient matching (L-BFGS)")
    paper: ClassVar[str] = ("Zhao, Mopuri, Bilen. iDLG: Improved Deep Leakage from Gradients. "
                            "arXiv:2001.02610, 2020")
    Params: ClassVar[type[AttackParams]] = IdlgParams

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        p: IdlgParams = params  # type: ignore[assignment]

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
                return l2_distance(batched_gradients(model, theta, x, t), target)

            x, _, loss = invert(objective, (n, *obs.spec.input_shape),
                                LoopSettings(p.restarts, p.iterations, "lbfgs", p.step, None),
                                seed, None, ctx.check_cancelled)
            return x, labels, {"matching_loss": loss}

        return attack_updates(ctx, p, solve)
