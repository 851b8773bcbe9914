"""Robbing the Fed (Fowl, Geiping, Czaja, Goldblum, Goldstein, ICLR 2022): a malicious server
sends a global model whose first layer is an imprint module (``federation/imprint.py``, applied
by the range's ServerApp in the round the adversary chose) and reads each client's records out
of that layer's gradient in closed form, one per bin that holds exactly one record.

Labels are not part of the closed form; they are read off the last layer's gradient as a
multiset (LLG, ``fl_attacks.batch_labels``) and assigned in order.
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
)
from leakrange.attacks.federated.observation import Observation
from leakrange.common.errors import FailedPrecondition
from leakrange.federation.imprint import linear_names, recover
from leakrange.fl_attacks import batch_labels


class RobbingTheFedParams(UpdateParams):
    min_bias_gradient: float = Field(default=1e-4, gt=0, lt=1,
                                     description="bins whose bias gradient is below this "
                                                 "fraction of the largest are empty")


class RobbingTheFed(FederatedAttack):
    name: ClassVar[str] = "robbing_the_fed"
    summary: ClassVar[str] = ("Malicious server: insert an imprint layer and recover clients' "
                              "records in closed form from its gradient")
    paper: ClassVar[str] = ("Fowl, Geiping, Czaja, Goldblum, Goldstein. Robbing the Fed: "
                            "Directly Obtaining Private Data in Federated Learning with "
                            "Modified Models. ICLR 2022")
    Params: ClassVar[type[AttackParams]] = RobbingTheFedParams

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        p: RobbingTheFedParams = params  # type: ignore[assignment]

        def solve(obs: Observation, r: int, k: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
            if obs.recipe.role != "malicious_server":
                raise FailedPrecondition("robbing_the_fed needs a malicious server (the range "
                                         "must send the imprint model)")
            grads = obs.gradient(r, k)
            # The model's own layer order (the observation's tensors come in no order).
            model = obs.model_at(r)
            names = linear_names(dict(model.state_dict()))
            first = names[0]
            x = recover(grads[f"{first}.weight"], grads[f"{first}.bias"], p.min_bias_gradient)
            if len(x) == 0:
                raise FailedPrecondition(f"no record could be read out in round {r}")
            x = np.clip(x, 0.0, 1.0).reshape(len(x), *obs.spec.input_shape)
            observed = list(gradient_update(obs, model, r, k).gradients.values())
            labels = batch_labels(model, observed, obs.spec.num_classes, len(x)).numpy()
            return x, labels, {"bins_read": float(len(x))}

        crafted = Observation.of(ctx).recipe.crafted_round
        if p.rounds is None and crafted:
            p = p.model_copy(update={"rounds": [crafted]})
        return attack_updates(ctx, p, solve)
