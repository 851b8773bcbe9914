"""Robbing the Fed (Fowl, Geiping, Czaja, Goldblum, Goldstein, ICLR 2022): a malicious server
sends, in the round the adversary chose, the global model with an imprint block in front
(``models/imprint.py``; its weights crafted by ``fl_attacks.imprint.imprint_model``: every
row one measurement of the record, ReLU thresholds at quantiles of that measurement on public
records) and reads each client's records out of the block's gradient in closed form
(``fl_attacks.imprint.recover_imprint``: differences of consecutive bins), exactly for every
record alone in its bin.

Labels are not part of the closed form; they are read off the last layer's gradient as a
multiset (LLG, ``fl_attacks.batch_labels``), or taken from the threat model when it grants them
and every record came out of a bin of its own, and assigned in order (the bins do not say which
label is whose).
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
from leakrange.fl_attacks import Knowledge, batch_labels, recover_imprint
from leakrange.models.imprint import Imprinted


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
            model = obs.model_at(r)
            if not isinstance(model, Imprinted):
                raise FailedPrecondition(f"the global model of round {r} has no imprint block "
                                         f"(the crafted round is {obs.recipe.crafted_round})")
            update = gradient_update(obs, model, r, k)
            shape = tuple(int(d) for d in obs.spec.input_shape)
            rec = recover_imprint(model, update, Knowledge(obs.batch_records(r, k), shape,
                                                           obs.spec.num_classes),
                                  min_bias_gradient=p.min_bias_gradient)
            if len(rec.inputs) == 0:
                raise FailedPrecondition(f"no record could be read out in round {r}")
            x = np.clip(rec.inputs.detach().numpy(), 0.0, 1.0)
            granted = obs.granted_labels(r, k)
            if granted is not None and len(granted) == len(x):
                return x, granted, {"bins_read": float(len(x)), "labels_given": 1.0}
            labels = batch_labels(model, list(update.gradients.values()),
                                  obs.spec.num_classes, len(x)).numpy()
            return x, labels, {"bins_read": float(len(x)), "labels_given": 0.0}

        crafted = Observation.of(ctx).recipe.crafted_round
        if p.rounds is None and crafted:
            p = p.model_copy(update={"rounds": [crafted]})
        return attack_updates(ctx, p, solve)
