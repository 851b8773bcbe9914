"""Canary exposure (the adversary's half).

Carlini, Liu, Erlingsson, Kos, Song. "The Secret Sharer: Evaluating and Testing Unintended
Memorization in Neural Networks." USENIX Security 2019. The range hides the inserted canaries
among random fills of the same public template; the adversary scores every candidate by the
log-probability the target gives its secret tokens (the negated log-perplexity of section
4.1, on the part that differs between candidates) and returns one score per candidate. The
range then ranks each true canary among the random fills and reports its exposure in bits
(result kind ``exposure``, ``metrics/exposure.py``): the adversary never learns which candidate
was a canary.
"""

from __future__ import annotations

import numpy as np

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.oracle import SCORE_OUTPUTS, Documents, LmOracle
from leakrange.common.attack_info import EXPOSURE
from leakrange.common.errors import FailedPrecondition


class ExposureParams(AttackParams):
    pass


class CanaryExposureAttack(Attack):
    name = "canary_exposure"
    family = "mia"
    summary = "How far above random fills of its template the model ranks each canary."
    paper = ("Carlini et al., The Secret Sharer: Evaluating and Testing Unintended "
             "Memorization in Neural Networks, USENIX Security 2019")
    Params = ExposureParams
    supported_outputs = SCORE_OUTPUTS
    result_kind = EXPOSURE

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        candidates = ctx.extras.get("canary_candidates")
        if candidates is None:
            raise FailedPrecondition("attack 'canary_exposure' needs a target trained with "
                                     "canaries (target.text.canaries)")
        secret = int(ctx.extras["canary_secret_tokens"])
        oracle = LmOracle(ctx)
        oracle.require(self.supported_outputs, self.name)
        cands = np.asarray(candidates, dtype=np.int64)
        docs = Documents(cands, np.full(len(cands), cands.shape[1], np.int64))
        oracle.ensure_budget(docs.token_count, self.name)
        ctx.progress("querying", 0, len(docs), "scoring canary candidates")
        scores = [float(lp[-secret:].sum()) for lp in oracle.log_probs(docs)]
        ctx.progress("querying", len(docs), len(docs), "done")
        return AttackOutput(scores=np.asarray(scores), facts={"candidates": float(len(docs))})
