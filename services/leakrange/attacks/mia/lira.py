"""Likelihood Ratio Attack (LiRA), online and offline.

Carlini, Chien, Nasr, Song, Terzis, Tramer. "Membership Inference Attacks From First
Principles." IEEE S&P 2022.

For every audit record the adversary trains reference models with (IN) and without (OUT) the
record, fits Gaussians to the logit-scaled confidences phi = log(p_y / (1 - p_y)) of the IN and
OUT models and scores the target's phi by a likelihood-ratio test:
- online: log N(phi; mu_in, s_in^2) - log N(phi; mu_out, s_out^2);
- offline (OUT models only): the one-sided test log Pr[Z <= phi], Z ~ N(mu_out, s_out^2).
Per-example variances, or a fixed (global) variance for few reference models (the paper,
Sec. IV-C). Here the global variance is the mean over examples of the per-example variance of
the IN (resp. OUT) distribution. The paper's released code (``fix_variance`` in its scoring
script) instead takes the variance of all IN (resp. OUT) values pooled across examples, which
also counts the spread of the per-example means; the two differ in scale and can rank records
differently. With image data, augmented queries (shifts) are scored separately and their
scores averaged (the paper's diagonal-Gaussian variant).
"""

from __future__ import annotations

import numpy as np
from pydantic import ConfigDict, Field, model_validator
from scipy.stats import norm

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.augment import augmentations
from leakrange.attacks.mia.common_params import ReferenceParams, population
from leakrange.attacks.mia.reference_models import (
    reference_recipe,
    reference_spec,
    train_references,
)
from leakrange.attacks.mia.reference_stats import MaskedMoments
from leakrange.attacks.mia.signals import TargetOracle, require_outputs

MIN_STD = 1e-4


class LiraParams(ReferenceParams):
    # The cross-field rule below, in the published JSON Schema too (the orchestrator validates
    # against the schema): unless ``online`` is false, at least 2 reference models.
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"online": {"const": False}}, "required": ["online"]},
        "else": {"properties": {"reference_models": {"minimum": 2}}},
    })

    reference_models: int = Field(default=16, ge=1, le=1024)
    online: bool = Field(default=True, description="Train IN models on the audit records too.")
    fixed_variance: bool = Field(default=False,
                                 description="Global variance across examples (few models).")
    augmentations: int = Field(default=1, ge=1, le=13,
                               description="Query augmentations (image data only).")

    @model_validator(mode="after")
    def _online_needs_two(self) -> LiraParams:
        if self.online and self.reference_models < 2:
            raise ValueError("online LiRA needs at least 2 reference models")
        return self


def gaussian_stats(
    phi: np.ndarray, mask: np.ndarray, fixed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per example of ``phi`` [M, n] over models where ``mask`` [M, n] is True."""
    moments = MaskedMoments.zeros(phi.shape[1])
    moments.add(phi, mask)
    return gaussian_from_moments(moments, fixed)


def gaussian_from_moments(
    moments: MaskedMoments, fixed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per example from accumulated moments.

    ``fixed``: one std for all examples, sqrt of the mean per-example variance (not the spread
    of the values pooled across examples, which the paper's released code uses).
    """
    var = moments.variance()
    usable = moments.count >= 2
    global_var = float(var[usable].mean()) if usable.any() else 0.0
    # Fixed variance for all examples, or as the fallback where an example has < 2 models.
    var = np.full_like(var, global_var) if fixed else np.where(usable, var, global_var)
    return moments.mean, np.maximum(np.sqrt(var), MIN_STD)


def lira_scores(
    target_phi: np.ndarray, ref_phi: np.ndarray, in_mask: np.ndarray, *,
    online: bool, fixed_variance: bool,
) -> np.ndarray:
    """Scores (higher = member) from target phi [n], reference phi [M, n], IN mask [M, n]."""
    m_in, m_out = MaskedMoments.zeros(len(target_phi)), MaskedMoments.zeros(len(target_phi))
    m_in.add(ref_phi, in_mask)
    m_out.add(ref_phi, ~in_mask)
    return scores_from_moments(target_phi, m_in, m_out, online=online,
                               fixed_variance=fixed_variance)


def scores_from_moments(
    target_phi: np.ndarray, m_in: MaskedMoments, m_out: MaskedMoments, *,
    online: bool, fixed_variance: bool,
) -> np.ndarray:
    mu_out, sd_out = gaussian_from_moments(m_out, fixed_variance)
    if not online:
        return norm.logcdf(target_phi, loc=mu_out, scale=sd_out)
    mu_in, sd_in = gaussian_from_moments(m_in, fixed_variance)
    return norm.logpdf(target_phi, mu_in, sd_in) - norm.logpdf(target_phi, mu_out, sd_out)


class LiraAttack(Attack):
    name = "lira"
    family = "mia"
    summary = "Likelihood-ratio test against IN/OUT reference-model distributions."
    paper = ("Carlini et al., Membership Inference Attacks From First Principles, "
             "IEEE S&P 2022")
    Params = LiraParams
    supported_outputs = ("logits", "probabilities", "topk")
    uses_reference_models = True

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, LiraParams)
        audit_x, audit_y = ctx.audit_x, ctx.audit_y
        if params.online:  # the audit records alone can form the pool: no population needed
            pop_x = ctx.population_x if ctx.population_x is not None else audit_x[:0]
            pop_y = ctx.population_y if ctx.population_y is not None else audit_y[:0]
        else:
            pop_x, pop_y = population(ctx, self.name)
        views = augmentations(audit_x, params.augmentations)  # validates before any work
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        oracle.ensure_budget(len(audit_x) * len(views), self.name)
        spec = reference_spec(ctx, oracle.desc.input_shape, oracle.desc.num_classes)
        recipe = reference_recipe(ctx, params.epochs)
        if params.online and params.train_size is not None:
            # As in the paper, the pool is about twice a training set: the audit records plus
            # as many population records as needed, so every record is IN half of the models.
            keep = max(0, 2 * params.train_size - len(audit_x))
            pop_x, pop_y = pop_x[:keep], pop_y[:keep]
        n_pop = len(pop_x)
        if params.online:  # audit records are IN half of the reference models
            pool_x, pool_y = np.concatenate([pop_x, audit_x]), np.concatenate([pop_y, audit_y])
            extra = np.concatenate(views[1:]) if len(views) > 1 else audit_x[:0]
        else:  # OUT models only
            pool_x, pool_y = pop_x, pop_y
            extra = np.concatenate(views)
        refs = train_references(
            ctx, n_models=params.reference_models, pool_x=pool_x, pool_y=pool_y, extra_x=extra,
            spec=spec, recipe=recipe, seed=ctx.seed, strategy=params.strategy,
            precision=params.precision,
            train_size=params.train_size, online=params.online,
            tag=f"lira-aug{params.augmentations}",
        )
        n, n_views = len(audit_x), len(views)
        in_mask = refs.masks[:, n_pop:] if params.online else \
            np.zeros((params.reference_models, n), dtype=bool)
        moments = [(MaskedMoments.zeros(n), MaskedMoments.zeros(n)) for _ in views]
        for shard in refs.shards():  # one shard in memory at a time
            ctx.check_cancelled()
            if params.online:
                shard_views = [shard.pool[:, n_pop:]]
                if n_views > 1:
                    shard_views += np.split(shard.extra, n_views - 1, axis=1)
            else:
                shard_views = np.split(shard.extra, n_views, axis=1)
            mask = in_mask[shard.start:shard.stop]
            for (m_in, m_out), logits in zip(moments, shard_views, strict=True):
                phi = oracle.reference_signals(logits, audit_y).phi
                m_in.add(phi, mask)
                m_out.add(phi, ~mask)
        scores = np.zeros(n)
        for view, (m_in, m_out) in zip(views, moments, strict=True):
            ctx.check_cancelled()
            target_phi = oracle.signals(view, audit_y).phi
            scores += scores_from_moments(target_phi, m_in, m_out, online=params.online,
                                          fixed_variance=params.fixed_variance)
        ctx.progress("scoring", n, n, "records scored")
        return AttackOutput(
            scores=scores / len(views),
            facts={"reference_models": float(params.reference_models),
                   "reference_cache_hit": float(refs.cache_hit), **refs.facts},
        )
