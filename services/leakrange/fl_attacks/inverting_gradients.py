"""Inverting Gradients, from one FedSGD update.

Geiping, Bauermeister, Dröge and Moeller, "Inverting Gradients - How easy is it to break
privacy in federated learning?" (NeurIPS 2020), Sec. 4: minimise

    1 - <grad(x', y), g> / (||grad(x', y)|| ||g||)  +  alpha * TV(x')

over inputs ``x'`` kept in the box of valid images, with Adam on the *sign* of the gradient,
learning rate 0.1 divided by 10 at 3/8, 5/8 and 7/8 of the iterations, several random
restarts (all moved at once here), and the restart with the lowest cosine loss kept. Labels are
the threat model's when granted, else recovered from the last layer (iDLG for one record, the
LLG count of Wainakh et al. 2022 for a batch), as the paper does for unknown labels.

Cost (1 thread, ResNet-20 with BatchNorm in eval mode, one CIFAR-10 image): one iteration is
the double backward of the model, 31-36 ms, within a few per cent of a bare
``autograd.grad(create_graph=True)`` of the same model and the same work ``breaching`` does per
iteration; the convolutions there run PyTorch's native kernels (oneDNN is not chosen for one
small image), unfolding them by hand is slower (45 ms), and bf16 autocast saves nothing at
batch 1 (31 vs 31 ms; 48 vs 60 ms at batch 4). What is left to save is the number of iterations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from leakrange.common.errors import InvalidArgument
from leakrange.fl_attacks.labels import batch_labels
from leakrange.fl_attacks.matching import ClientSimulator, distance, total_variation
from leakrange.fl_attacks.optimization import adam_search, check_budget, check_positive, init_inputs
from leakrange.fl_attacks.result import Reconstruction
from leakrange.fl_attacks.updates import GradientUpdate, Knowledge, check_model, check_tensors


@dataclass(frozen=True)
class IGParams:
    """``restarts``: random initialisations optimised together; ``iterations``: Adam steps;
    ``lr``: initial step size (0.1 in the paper); ``tv_weight``: alpha of the TV prior (the
    paper's CIFAR value is 1e-4 on the summed TV; this TV is a mean over pixels, for which
    ``breaching`` uses 0.2); ``signed``: step on the gradient's sign; ``schedule``: the
    step decay; ``seed``: of the random initialisation."""

    restarts: int = 1
    iterations: int = 4000
    lr: float = 0.1
    tv_weight: float = 0.2
    signed: bool = True
    schedule: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_budget(self.restarts, self.iterations)
        check_positive("params.lr", self.lr, 10.0)
        if not (self.tv_weight == self.tv_weight and 0 <= self.tv_weight <= 100):
            raise InvalidArgument("params.tv_weight", "must be in [0, 100]")


def inverting_gradients(model: nn.Module, update: GradientUpdate, knowledge: Knowledge,
                        params: IGParams | None = None) -> Reconstruction:
    """Reconstruct the ``knowledge.num_samples`` records behind a FedSGD gradient."""
    p = params or IGParams()
    check_model(model, knowledge)
    observed = check_tensors(model, update.gradients, "update.gradients")
    sim = ClientSimulator(model)
    b = knowledge.num_samples
    labels = knowledge.labels
    recovered = labels is None
    if labels is None:
        labels = batch_labels(model, observed, knowledge.num_classes, b)
    target = labels.long().view(1, b).expand(p.restarts, b)
    box = knowledge.box()
    x0 = init_inputs(p.restarts, (b, *knowledge.input_shape), p.seed, box)

    def objective(x: torch.Tensor, _: torch.Tensor | None) -> torch.Tensor:
        match = distance(sim.gradients(x, target[: x.shape[0]]), observed, "cosine")
        return match + p.tv_weight * total_variation(x) if p.tv_weight else match

    res = adam_search(objective, x0, iterations=p.iterations, lr=p.lr, signed=p.signed,
                      box=box, schedule=p.schedule)
    final = distance(sim.gradients(res.x, target), observed, "cosine").detach()
    best = int(final.argmin())
    return Reconstruction(inputs=res.x[best], labels=labels.long(), labels_recovered=recovered,
                          restart_inputs=res.x, restart_losses=final, best_restart=best,
                          iterations=res.iterations * p.restarts)
