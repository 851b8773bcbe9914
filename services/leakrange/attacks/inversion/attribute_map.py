"""Confidence-score attribute inference (the MAP estimator).

Fredrikson, Lantz, Jha, Lin, Page, Ristenpart. "Privacy in Pharmacogenetics: An End-to-End Case
Study of Personalized Warfarin Dosing." USENIX Security 2014. The adversary knows a record's
other features and its label y; for every candidate value v of the hidden attribute it queries
the model and guesses ``argmax_v p(y | x, v) * p(v)``, with the prior p(v) from its own data:
the paper's marginal, or (default) conditioned on the record's other features and label by a
logistic regression fitted on the adversary's records, so the model's answer is weighed against
what the adversary could impute anyway (Jayaraman & Evans, ACM CCS 2022).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.candidates import HiddenAttribute
from leakrange.attacks.mia.signals import TargetOracle, require_outputs
from leakrange.common.attack_info import ATTRIBUTE


class AttributeMapParams(AttackParams):
    prior: Literal["conditional", "marginal"] = Field(
        default="conditional", description="Prior of the hidden value from own records.")


class AttributeMapAttack(Attack):
    name = "attribute_map"
    family = "inversion"
    summary = "Picks the hidden value under which the model is surest of the known label."
    paper = ("Fredrikson et al., Privacy in Pharmacogenetics: An End-to-End Case Study of "
             "Personalized Warfarin Dosing, USENIX Security 2014")
    Params = AttributeMapParams
    supported_outputs = ("logits", "probabilities", "topk")
    result_kind = ATTRIBUTE

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        hidden = HiddenAttribute.of(ctx, self.name)
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        k = hidden.n_values
        oracle.ensure_budget(len(ctx.audit_x) * k, self.name)
        sig = oracle.signals(hidden.completions(ctx.audit_x), np.repeat(ctx.audit_y, k))
        assert isinstance(params, AttributeMapParams)
        prior = (hidden.conditional_prior(ctx, oracle.desc.num_classes)
                 if params.prior == "conditional" else hidden.prior(ctx))
        posterior = sig.log_prob.reshape(-1, k) + np.log(prior)
        guesses = posterior.argmax(axis=1)
        return AttackOutput(outputs={"guesses": guesses.astype(np.int64),
                                     "confidence": posterior.max(axis=1)})
