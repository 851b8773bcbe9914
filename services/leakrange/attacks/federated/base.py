"""What every federated attack shares: its family, that it needs no Target service (it reads
what it observed in the federation), its result kind, the loop over observed updates, and the
translation of one observed update into the inputs of ``leakrange.fl_attacks`` (the domain
code the attacks here adapt) and of its reconstruction back into the range's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import torch
from pydantic import Field
from torch import nn

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.federated.observation import Observation
from leakrange.common.attack_info import RECORD_RECONSTRUCTION
from leakrange.common.threat_model import OutputKind
from leakrange.fl_attacks import (
    GradientUpdate,
    Knowledge,
    LocalTraining,
    Reconstruction,
    WeightDeltaUpdate,
)

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


def knowledge(obs: Observation, server_round: int, client: int) -> Knowledge:
    """What the threat model grants about one update: the number of records behind it (the
    count the client reported), the record shape and classes from the model spec, and the
    labels only when ``threat_model.knowledge.labels_known`` grants them (else they are
    recovered from the update). The range's images are in [0, 1], so image searches are
    boxed there (mean 0, std 1 per channel)."""
    shape = tuple(int(d) for d in obs.spec.input_shape)
    mean, std = ((0.0,) * shape[0], (1.0,) * shape[0]) if len(shape) == 3 else (None, None)
    granted = obs.granted_labels(server_round, client)
    return Knowledge(obs.batch_records(server_round, client), shape, obs.spec.num_classes,
                     labels=None if granted is None else torch.from_numpy(granted),
                     mean=mean, std=std)


def _trainable(model: nn.Module, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {n: torch.from_numpy(np.asarray(arrays[n], np.float32))
            for n, p in model.named_parameters() if p.requires_grad}


def gradient_update(obs: Observation, model: nn.Module, server_round: int, client: int
                    ) -> GradientUpdate:
    """FedSGD: the client's mean batch gradient, ``(global - returned) / lr``."""
    return GradientUpdate(_trainable(model, obs.gradient(server_round, client)))


def delta_update(obs: Observation, model: nn.Module, server_round: int, client: int
                 ) -> WeightDeltaUpdate:
    """FedAvg: the client's weight change and the local training the recipe told it to do."""
    r = obs.recipe
    return WeightDeltaUpdate(_trainable(model, obs.delta(server_round, client)),
                             LocalTraining(r.local_epochs, r.batch_size, r.lr))


def solution(rec: Reconstruction) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """A ``Solver``'s answer from an ``fl_attacks`` reconstruction."""
    assert rec.labels is not None
    x = np.nan_to_num(rec.inputs.detach().numpy())
    return x, rec.labels.numpy().astype(np.int64), {
        "matching_loss": float(rec.restart_losses[rec.best_restart]),
        # updates attacked with the threat model's labels (no label recovery run)
        "labels_given": 0.0 if rec.labels_recovered else 1.0}
