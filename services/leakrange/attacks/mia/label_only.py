"""Label-only membership inference by robustness to perturbations.

Choquette-Choo, Tramer, Carlini, Papernot. "Label-Only Membership Inference Attacks." ICML 2021
(data-augmentation and noise-robustness attacks). Models classify their training records
correctly and robustly: the score of a record is the fraction of its perturbed copies (image
translations; Gaussian feature noise for tabular data) that the target still labels correctly,
plus whether the clean record is correct. Works with label-only outputs and fits the query
budget: the number of perturbations is reduced to what the remaining budget allows.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.augment import _SHIFTS, shift
from leakrange.attacks.mia.signals import TargetOracle
from leakrange.common.errors import FailedPrecondition
from leakrange.common.query_budget import remaining_is_limited


class LabelOnlyParams(AttackParams):
    perturbations: int = Field(default=12, ge=1, le=256,
                               description="Perturbed copies per record (budget permitting).")
    noise_scale: float = Field(default=0.3, gt=0.0, le=10.0,
                               description="Tabular: Gaussian noise in units of feature std.")


def perturbed_copies(
    x: np.ndarray, count: int, scale: float, std: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    if x.ndim == 4:
        shifts = [s for s in _SHIFTS if s != (0, 0)]
        copies = [shift(x, *shifts[i % len(shifts)]) for i in range(count)]
        for i in range(len(shifts), count):  # beyond the shift list: add pixel noise
            copies[i] = np.clip(copies[i] + rng.normal(0, 0.05, x.shape), 0, 1)
        return [c.astype(np.float32) for c in copies]
    return [(x + rng.normal(0.0, 1.0, x.shape) * std * scale).astype(np.float32)
            for _ in range(count)]


class LabelOnlyAttack(Attack):
    name = "label_only"
    family = "mia"
    summary = "Training records stay correctly labelled under perturbations."
    paper = "Choquette-Choo et al., Label-Only Membership Inference Attacks, ICML 2021"
    Params = LabelOnlyParams
    supported_outputs = ("label", "topk", "probabilities", "logits")

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, LabelOnlyParams)
        x, y = ctx.audit_x, ctx.audit_y
        n = len(x)
        oracle = TargetOracle(ctx)
        count = params.perturbations
        left = oracle.desc.remaining_budget
        if not oracle.white_box and remaining_is_limited(left):
            affordable = left // n - 1
            if affordable < 1:
                raise FailedPrecondition(
                    f"threat_model.access.query_budget: label-only needs at least {2 * n} "
                    f"queries for {n} audit records, {left} left"
                )
            if affordable < count:
                ctx.log(f"query budget allows {affordable} of {count} perturbations")
                count = affordable
        rng = np.random.default_rng(ctx.seed)
        ref = ctx.population_x if ctx.population_x is not None else x
        std = ref.std(axis=0) + 1e-6
        correct = (oracle.labels(x) == y).astype(np.float64)
        for i, copy in enumerate(perturbed_copies(x, count, params.noise_scale, std, rng)):
            ctx.check_cancelled()
            correct += oracle.labels(copy, "querying_perturbations") == y
            ctx.progress("perturbations", i + 1, count, "perturbation rounds queried")
        return AttackOutput(scores=correct / (count + 1),
                            facts={"perturbations": float(count)})
