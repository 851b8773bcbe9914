"""Loss-threshold membership inference.

Yeom, Giacomelli, Fredrikson, Jha. "Privacy Risk in Machine Learning: Analyzing the Connection to
Overfitting." IEEE CSF 2018. A record is called a member when the target's loss on it is low;
the score is the negative cross-entropy loss (higher = more likely a member). Sweeping the
threshold gives the ROC curve (the paper's threshold is the mean training loss).
"""

from __future__ import annotations

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.signals import TargetOracle, require_outputs


class LossParams(AttackParams):
    pass


class LossAttack(Attack):
    name = "loss"
    family = "mia"
    summary = "Low loss on a record means it was probably trained on."
    paper = ("Yeom et al., Privacy Risk in Machine Learning: Analyzing the Connection to "
             "Overfitting, IEEE CSF 2018")
    Params = LossParams
    supported_outputs = ("logits", "probabilities", "topk")

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        oracle.ensure_budget(len(ctx.audit_x), self.name)
        sig = oracle.signals(ctx.audit_x, ctx.audit_y)
        return AttackOutput(scores=sig.log_prob)
