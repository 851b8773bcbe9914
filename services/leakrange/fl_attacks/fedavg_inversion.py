"""Multi-step inversion of a FedAvg update: simulate the client's local training.

Geiping et al., "Inverting Gradients" (NeurIPS 2020), Sec. 5, and Dimitrov, Balunović,
Konstantinov and Vechev, "Data Leakage in Federated Averaging" (TMLR 2022), Sec. 4: a client
that runs ``E`` local epochs of SGD over its ``N`` records in mini-batches of ``b`` sends
``delta = w_T - w_0``. The attacker optimises candidate records ``x'`` so that running the same
local training on them (differentiably, every step) from ``w_0`` yields a delta close to the
observed one in cosine distance, plus the TV prior. Because the same records are visited once
per epoch, one candidate per record is shared by all epochs: this is Dimitrov et al.'s
epoch-order consistency made exact for a client whose batch order the server knows (the
range's clients take batches in order); labels come from the threat model or from the
last-layer delta (``labels.fedavg_batch_labels``). Restarts are simulated together: the
parameters carry a restart dimension from the first local step on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.fl_attacks.inverting_gradients import IGParams
from leakrange.fl_attacks.labels import fedavg_batch_labels
from leakrange.fl_attacks.matching import ClientSimulator, distance, total_variation
from leakrange.fl_attacks.optimization import adam_search, init_inputs
from leakrange.fl_attacks.result import Reconstruction
from leakrange.fl_attacks.updates import Knowledge, WeightDeltaUpdate, check_model, check_tensors

MAX_SIMULATED_STEPS = 1000


@dataclass(frozen=True)
class FedAvgParams(IGParams):
    """As ``IGParams`` (``restarts`` optimised together, ``iterations`` of signed Adam at
    ``lr`` with the step decay, ``tv_weight`` of the TV prior, ``seed``), fewer iterations by
    default: every one simulates all the client's local steps."""

    iterations: int = 2000


def simulate_delta(sim: ClientSimulator, x: torch.Tensor, y: torch.Tensor,
                   update: WeightDeltaUpdate) -> list[torch.Tensor]:
    """The deltas ``[R, ...]`` the client's local SGD would produce on ``x [R, N, ...]``."""
    training = update.training
    start = {n: p for n, p in sim.params.items()}
    params: dict[str, torch.Tensor] | None = None
    for sl in training.steps(x.shape[1]):
        cur = start if params is None else params
        grads = sim.gradients(x[:, sl], y[:, sl], cur, batched_params=params is not None)
        base = [cur[n] if params is not None else cur[n].unsqueeze(0) for n in sim.names]
        params = {n: w - training.lr * g for n, w, g in zip(sim.names, base, grads, strict=True)}
    assert params is not None
    return [params[n] - start[n].unsqueeze(0) for n in sim.names]


def fedavg_inversion(model: nn.Module, update: WeightDeltaUpdate, knowledge: Knowledge,
                     params: FedAvgParams | None = None) -> Reconstruction:
    """Reconstruct the client's ``knowledge.num_samples`` records from its FedAvg delta."""
    p = params or FedAvgParams()
    check_model(model, knowledge)
    observed = check_tensors(model, update.delta, "update.delta")
    n = knowledge.num_samples
    if len(update.training.steps(n)) > MAX_SIMULATED_STEPS:
        raise InvalidArgument("update.training", f"more than {MAX_SIMULATED_STEPS} local steps")
    sim = ClientSimulator(model)
    labels = knowledge.labels
    recovered = labels is None
    if labels is None:
        labels = fedavg_batch_labels(model, observed, knowledge.num_classes, n)
    target = labels.long().view(1, n).expand(p.restarts, n)
    box = knowledge.box()
    x0 = init_inputs(p.restarts, (n, *knowledge.input_shape), p.seed, box)

    def objective(x: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:
        match = distance(simulate_delta(sim, x, target[: x.shape[0]], update), observed,
                         "cosine")
        return match + p.tv_weight * total_variation(x) if p.tv_weight else match

    res = adam_search(objective, x0, iterations=p.iterations, lr=p.lr, signed=p.signed,
                      box=box, schedule=p.schedule)
    final = distance(simulate_delta(sim, res.x, target, update), observed, "cosine").detach()
    best = int(final.argmin())
    return Reconstruction(inputs=res.x[best], labels=labels.long(), labels_recovered=recovered,
                          restart_inputs=res.x, restart_losses=final, best_restart=best,
                          iterations=res.iterations * p.restarts)
