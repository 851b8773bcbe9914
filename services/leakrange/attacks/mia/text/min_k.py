"""Min-K% Prob and Min-K%++ membership inference.

Shi, Ajith, Xia, Huang, Liu, Blevins, Chen, Zettlemoyer. "Detecting Pretraining Data from Large
Language Models." ICLR 2024: the mean log-probability of the k % least likely tokens (a
non-member has a few very surprising tokens; a member has few).

Zhang, Sun, Zhang, Chen, Wang, Wang, Chen, Ding, Li. "Min-K%++: Improved Baseline for Detecting
Pre-Training Data from Large Language Models." ICLR 2025: standardise each token's
log-probability by the mean and standard deviation of log p over the model's next-token
distribution at that position before taking Min-K%. It needs that distribution: exact under
white-box access, estimated from the top K (and the remainder) under a ``topk:K`` policy.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from leakrange.attacks.base import AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.base import TextMembershipAttack
from leakrange.attacks.mia.text.oracle import Documents, LmOracle
from leakrange.attacks.mia.text.scores import min_k_plus_plus_score, min_k_score
from leakrange.common.threat_model import OutputKind


class MinKParams(AttackParams):
    k_percent: float = Field(default=20.0, gt=0.0, le=100.0,
                             description="Share of the least likely tokens averaged (%).")


class MinKAttack(TextMembershipAttack):
    name = "min_k"
    summary = "Average log-probability of a document's least likely tokens."
    paper = ("Shi et al., Detecting Pretraining Data from Large Language Models, ICLR 2024")
    Params = MinKParams

    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        assert isinstance(params, MinKParams)
        return [min_k_score(lp, params.k_percent) for lp in oracle.log_probs(docs)]


class MinKPlusPlusAttack(TextMembershipAttack):
    name = "min_k_plus_plus"
    summary = ("Min-K% over token log-probabilities standardised by the model's next-token "
               "distribution.")
    paper = ("Zhang et al., Min-K%++: Improved Baseline for Detecting Pre-Training Data from "
             "Large Language Models, ICLR 2025")
    Params = MinKParams
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = ("topk",)

    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        assert isinstance(params, MinKParams)
        stats = oracle.stats(docs)
        return [min_k_plus_plus_score(lp, mu, sd, params.k_percent)
                for lp, mu, sd in zip(stats.log_probs, stats.mu, stats.sigma, strict=True)]
