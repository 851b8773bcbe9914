"""Improved Deep Leakage from Gradients, iDLG (Zhao, Mopuri, Bilen, 2020, arXiv:2001.02610).

With cross-entropy, the gradient of the last layer has a negative entry only for the true
class, so the label of a single record is read off the gradient in closed form (for batches:
LLG, Wainakh et al. 2022); the record is then recovered by L2 gradient matching with L-BFGS as
in DLG, labels fixed. The attack itself is ``leakrange.fl_attacks.idlg``; this module feeds it
each observed update.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.base import (
    FederatedAttack,
    attack_updates,
    gradient_update,
    knowledge,
    solution,
)
from leakrange.attacks.federated.dlg import DlgParams
from leakrange.attacks.federated.observation import Observation
from leakrange.fl_attacks import DLGParams, idlg


class IdlgParams(DlgParams):
    """iDLG's search has DLG's knobs (L-BFGS evaluations, restarts, step, line search)."""


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
            return solution(idlg(model, gradient_update(obs, model, r, k),
                                 knowledge(obs, r, k),
                                 DLGParams(restarts=p.restarts, iterations=p.iterations,
                                           lr=p.step, line_search=p.line_search, seed=seed)))

        return attack_updates(ctx, p, solve)
