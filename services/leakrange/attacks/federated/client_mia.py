"""Membership inference by a curious client from the global models it receives.

A participant sees the global model of every round it takes part in. Nasr, Shokri, Houmansadr
("Comprehensive Privacy Analysis of Deep Learning", IEEE S&P 2019, the passive local attacker)
show that the sequence of global models leaks other participants' membership; Liu, Xu, Backes,
Zhang ("Membership Inference Attacks by Exploiting Loss Trajectory", CCS 2022) score a record by
its loss along a training trajectory. Two signals, scored on records other clients may hold:
- ``client_loss``: minus the loss under the last global model received (Yeom et al. 2018);
- ``client_trajectory``: the loss along the whole sequence of global models, later rounds
  weighing more, calibrated per class by the same signal on the adversary's own partition
  (records it knows were trained on), which removes how hard each class is for the model.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch.nn import functional as F

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.base import ALL_OUTPUTS, FederatedAttack
from leakrange.attacks.federated.observation import Observation
from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.errors import FailedPrecondition
from leakrange.common.threat_model import OutputKind


class ClientMiaParams(AttackParams):
    pass


def losses(obs: Observation, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of each record under each observed global model: [rounds, records]."""
    rounds = sorted(obs.globals)
    if not rounds:
        raise FailedPrecondition("this adversary observed no global model")
    xt, yt = torch.from_numpy(np.array(x, np.float32)), torch.from_numpy(np.array(y, np.int64))
    out = []
    with torch.no_grad():
        for r in rounds:
            out.append(F.cross_entropy(obs.model_at(r)(xt), yt, reduction="none").numpy())
    return np.stack(out).astype(np.float64)


class _ClientAttack(FederatedAttack):
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = ALL_OUTPUTS
    result_kind: ClassVar[str] = MEMBERSHIP
    Params: ClassVar[type[AttackParams]] = ClientMiaParams


class ClientLoss(_ClientAttack):
    name: ClassVar[str] = "client_loss"
    summary: ClassVar[str] = ("Curious client: a record is a member if the last global model "
                              "it received has a low loss on it")
    paper: ClassVar[str] = ("Nasr, Shokri, Houmansadr. Comprehensive Privacy Analysis of Deep "
                            "Learning. IEEE S&P 2019 (passive participant); Yeom et al. CSF 2018")

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        obs = Observation.of(ctx)
        return AttackOutput(scores=-losses(obs, ctx.audit_x, ctx.audit_y)[-1],
                            facts={"rounds_observed": float(len(obs.globals))})


class ClientTrajectory(_ClientAttack):
    name: ClassVar[str] = "client_trajectory"
    summary: ClassVar[str] = ("Curious client: a record is a member if its loss stayed low "
                              "along the global models it received, calibrated on its own "
                              "records")
    paper: ClassVar[str] = ("Liu, Xu, Backes, Zhang. Membership Inference Attacks by Exploiting "
                            "Loss Trajectory. ACM CCS 2022; Nasr et al. IEEE S&P 2019")

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        obs = Observation.of(ctx)
        if len(obs.globals) < 2:
            raise FailedPrecondition("a loss trajectory needs at least two observed rounds")
        scores = trajectory_signal(losses(obs, ctx.audit_x, ctx.audit_y))
        if ctx.population_x is not None and ctx.population_y is not None \
                and len(ctx.population_y):
            own = trajectory_signal(losses(obs, ctx.population_x, ctx.population_y))
            for c in np.unique(ctx.audit_y):
                mine = own[ctx.population_y == c]
                scores[ctx.audit_y == c] -= float(mine.mean()) if len(mine) else float(own.mean())
        return AttackOutput(scores=scores, facts={"rounds_observed": float(len(obs.globals))})


def trajectory_signal(traj: np.ndarray) -> np.ndarray:
    """Minus the loss along the trajectory, later rounds weighing more (weight r - 1 for round
    r: the first global model is the untrained one and says nothing about membership)."""
    w = np.arange(traj.shape[0], dtype=np.float64)
    return -(w[:, None] * traj).sum(axis=0) / w.sum()
