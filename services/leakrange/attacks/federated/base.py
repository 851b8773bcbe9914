"""What every federated attack shares: its family, that it needs no Target service (it reads
what it observed in the federation), its result kind, and the loop over observed updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.observation import Observation
from leakrange.common.attack_info import RECORD_RECONSTRUCTION
from leakrange.common.threat_model import OutputKind

ALL_OUTPUTS: tuple[OutputKind, ...] = ("logits", "probabilities", "topk", "label")


class FederatedAttack(Attack):
    family: ClassVar[str] = "federated"
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = ALL_OUTPUTS
    needs_target: ClassVar[bool] = False
    result_kind: ClassVar[str] = RECORD_RECONSTRUCTION


class UpdateParams(AttackParams):
    rounds: list[int] | None = Field(default=None, max_length=100,
                                     description="rounds to attack (default: every observed)")
    clients: list[int] | None = Field(default=None, max_length=64,
                                      description="clients to attack (default: all)")


# (observation, round, client, seed) -> (reconstructed records [n, ...], labels [n], facts)
Solver = Callable[[Observation, int, int, int], tuple[np.ndarray, np.ndarray, dict[str, float]]]


def attack_updates(ctx: RunContext, params: UpdateParams, solve: Solver) -> AttackOutput:
    """Run ``solve`` on every requested observed update; outputs say which update each
    reconstruction came from (``round``, ``client``) so the range matches it to that batch."""
    obs = Observation.of(ctx)
    pairs = obs.server_pairs(params.rounds, params.clients)
    recons, labels, rounds, clients = [], [], [], []
    facts: dict[str, float] = {}
    for i, (r, k) in enumerate(pairs):
        ctx.check_cancelled()
        ctx.progress("inversion", i, len(pairs), f"round {r}, client {k}")
        x, y, f = solve(obs, r, k, ctx.seed * 1000 + i)
        recons.append(x.astype(np.float32))
        labels.append(y.astype(np.int64))
        rounds.append(np.full(len(x), r, np.int64))
        clients.append(np.full(len(x), k, np.int64))
        for key, value in f.items():
            facts[key] = facts.get(key, 0.0) + value
    ctx.progress("inversion", len(pairs), len(pairs), "done")
    facts["updates_attacked"] = float(len(pairs))
    facts["local_steps"] = float(obs.recipe.local_epochs
                                 * -(-obs.recipe.records_per_client // obs.recipe.batch_size))
    return AttackOutput(reconstructions=np.concatenate(recons),
                        reconstructed_labels=np.concatenate(labels),
                        outputs={"round": np.concatenate(rounds),
                                 "client": np.concatenate(clients)}, facts=facts)
