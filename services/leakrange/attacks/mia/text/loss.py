"""Loss (perplexity) membership inference on a language model.

Yeom, Giacomelli, Fredrikson, Jha. "Privacy Risk in Machine Learning: Analyzing the Connection to
Overfitting." IEEE CSF 2018, applied to language models as in Carlini et al. 2021 and Shi et
al. 2024: a document is called a member when the target's mean token loss on it is low.
"""

from __future__ import annotations

from leakrange.attacks.base import AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.base import TextMembershipAttack
from leakrange.attacks.mia.text.oracle import Documents, LmOracle
from leakrange.attacks.mia.text.scores import loss_score


class LmLossParams(AttackParams):
    pass


class LmLossAttack(TextMembershipAttack):
    name = "lm_loss"
    summary = "Low perplexity on a document means the language model probably trained on it."
    paper = ("Yeom et al., Privacy Risk in Machine Learning: Analyzing the Connection to "
             "Overfitting, IEEE CSF 2018 (applied to language models)")
    Params = LmLossParams

    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        return [loss_score(lp) for lp in oracle.log_probs(docs)]
