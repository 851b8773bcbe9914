"""Robust Membership Inference Attack (RMIA), online and offline.

Zarifzadeh, Liu, Lee, Shokri. "Low-Cost High-Power Membership Inference Attacks." ICML 2024.

The likelihood ratio of x against a population record z is
LR(x, z) = [Pr(x|theta) / Pr(x)] / [Pr(z|theta) / Pr(z)], where Pr(.|theta) is the target's
probability of the true label and Pr(.) the average over reference models. The score of x is the
fraction of population z-samples with LR(x, z) >= gamma. Online, reference models are trained on
random halves of audit + z + population records, every record IN for half of them (the paper's
online setting), so Pr(x) averages IN and OUT models; with ``train_size`` the pool is cut to about
twice ``train_size`` (population records first). Offline,
only OUT models exist and Pr(x) is approximated with the paper's linear correction
Pr(x) = ((1 + a) * Pr_OUT(x) + (1 - a)) / 2, applied to x and z alike.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.common_params import ReferenceParams, population
from leakrange.attacks.mia.reference_models import (
    reference_recipe,
    reference_spec,
    train_references,
)
from leakrange.attacks.mia.reference_stats import RunningMean
from leakrange.attacks.mia.signals import (
    TargetOracle,
    break_ties,
    require_outputs,
)

EPS = 1e-30


class RmiaParams(ReferenceParams):
    reference_models: int = Field(default=4, ge=1, le=1024)
    online: bool = Field(default=False, description="Train IN models on the audit records too.")
    offline_a: float = Field(default=0.33, ge=0.0, le=1.0,
                             description="Offline correction 'a' for Pr(x) from OUT models.")
    gamma: float = Field(default=1.0, gt=0.0, description="Likelihood-ratio threshold.")
    z_samples: int = Field(default=1000, ge=10, le=100_000,
                           description="Population records used as z-samples.")


def likelihood_ratio(p_target: np.ndarray, p_reference: np.ndarray) -> np.ndarray:
    """Pr(x|theta) / Pr(x)."""
    return p_target / np.maximum(p_reference, EPS)


def rmia_scores(
    target_px: np.ndarray, ref_px: np.ndarray, target_pz: np.ndarray, ref_pz: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Fraction of z with [p(x|t)/p(x)] / [p(z|t)/p(z)] >= gamma (ties of the ratio count)."""
    ratio_x = likelihood_ratio(target_px, ref_px)
    ratio_z = np.sort(likelihood_ratio(target_pz, ref_pz))
    below = np.searchsorted(ratio_z, ratio_x / gamma, side="right")
    return below / len(ratio_z)


def offline_correction(p_out: np.ndarray, a: float) -> np.ndarray:
    return 0.5 * ((1.0 + a) * p_out + (1.0 - a))


class RmiaAttack(Attack):
    name = "rmia"
    family = "mia"
    summary = "Pairwise likelihood ratios of audit records against population z-samples."
    paper = ("Zarifzadeh et al., Low-Cost High-Power Membership Inference Attacks, "
             "ICML 2024 (RMIA)")
    Params = RmiaParams
    supported_outputs = ("logits", "probabilities", "topk")
    uses_reference_models = True

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, RmiaParams)
        pop_x, pop_y = population(ctx, self.name, minimum=20)
        rng = np.random.default_rng(ctx.seed + 1)
        order = rng.permutation(len(pop_x))
        n_z = min(params.z_samples, len(pop_x) // 2)
        z_idx, train_idx = order[:n_z], order[n_z:]
        z_x, z_y = pop_x[z_idx], pop_y[z_idx]
        audit_x, audit_y = ctx.audit_x, ctx.audit_y
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        oracle.ensure_budget(len(audit_x) + n_z, self.name)
        spec = reference_spec(ctx, oracle.desc.input_shape, oracle.desc.num_classes)
        recipe = reference_recipe(ctx, params.epochs)
        n_train, n_a = len(train_idx), len(audit_x)
        if params.online:
            if params.train_size is not None:
                # Pool about twice a training set, so half-IN models train on train_size rows.
                train_idx = train_idx[: max(0, 2 * params.train_size - n_a - n_z)]
                n_train = len(train_idx)
            pool_x = np.concatenate([pop_x[train_idx], audit_x, z_x])
            pool_y = np.concatenate([pop_y[train_idx], audit_y, z_y])
            refs = train_references(
                ctx, n_models=params.reference_models, pool_x=pool_x, pool_y=pool_y,
                extra_x=audit_x[:0], spec=spec, recipe=recipe, seed=ctx.seed,
                strategy=params.strategy, precision=params.precision, online=True,
                train_size=params.train_size, tag="rmia-online",
            )
            mean_p = RunningMean.zeros(len(pool_y) - n_train)
            for shard in refs.shards():  # one shard in memory at a time
                ctx.check_cancelled()
                mean_p.add(oracle.reference_signals(shard.pool[:, n_train:],
                                                    pool_y[n_train:]).prob)
            ref_px, ref_pz = mean_p.mean()[:n_a], mean_p.mean()[n_a:]
        else:
            refs = train_references(
                ctx, n_models=params.reference_models, pool_x=pop_x[train_idx],
                pool_y=pop_y[train_idx], extra_x=np.concatenate([audit_x, z_x]), spec=spec,
                recipe=recipe, seed=ctx.seed, strategy=params.strategy,
                precision=params.precision,
                train_size=params.train_size, tag="rmia-offline",
            )
            xz_y = np.concatenate([audit_y, z_y])
            mean_p = RunningMean.zeros(len(xz_y))
            for shard in refs.shards():
                ctx.check_cancelled()
                mean_p.add(oracle.reference_signals(shard.extra, xz_y).prob)
            ref_px = offline_correction(mean_p.mean()[:n_a], params.offline_a)
            ref_pz = offline_correction(mean_p.mean()[n_a:], params.offline_a)
        target_pz = oracle.signals(z_x, z_y, "querying_population").prob
        target_px = oracle.signals(audit_x, audit_y).prob
        scores = rmia_scores(target_px, ref_px, target_pz, ref_pz, params.gamma)
        # Within one z-quantile, a higher ratio of the record itself is more member-like.
        scores = break_ties(scores, np.log(likelihood_ratio(target_px, ref_px)), n_z)
        ctx.progress("scoring", n_a, n_a, "records scored")
        return AttackOutput(
            scores=scores,
            facts={"reference_models": float(params.reference_models),
                   "z_samples": float(n_z), "reference_cache_hit": float(refs.cache_hit),
                   **refs.facts},
        )
