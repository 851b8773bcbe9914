"""Population attack (Attack-P).

Ye, Maddi, Murakonda, Bindschaedler, Shokri. "Enhanced Membership Inference Attacks against
Machine Learning Models." ACM CCS 2022. The target's loss on a record is compared with the
distribution of the target's losses on population records (non-members the adversary holds):
the score is the fraction of population losses at least as large as the record's loss, so a
threshold on the score at alpha has a false-positive rate of about alpha by construction.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.common_params import population
from leakrange.attacks.mia.signals import TargetOracle, break_ties, require_outputs


class PopulationParams(AttackParams):
    population_queries: int = Field(default=2000, ge=10, le=1_000_000,
                                    description="Population records to query the target on.")


class PopulationAttack(Attack):
    name = "population"
    family = "mia"
    summary = "Compares a record's loss with the target's losses on population data."
    paper = ("Ye et al., Enhanced Membership Inference Attacks against Machine Learning Models, "
             "ACM CCS 2022 (Attack-P)")
    Params = PopulationParams
    supported_outputs = ("logits", "probabilities", "topk")

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, PopulationParams)
        pop_x, pop_y = population(ctx, self.name, minimum=10)
        rng = np.random.default_rng(ctx.seed)
        pick = rng.permutation(len(pop_x))[: params.population_queries]
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        oracle.ensure_budget(len(pick) + len(ctx.audit_x), self.name)
        pop_loss = -oracle.signals(pop_x[pick], pop_y[pick], "querying_population").log_prob
        loss = -oracle.signals(ctx.audit_x, ctx.audit_y).log_prob
        ordered = np.sort(pop_loss)
        # Fraction of population losses >= the record's loss (ties count half).
        above = len(ordered) - np.searchsorted(ordered, loss, side="right")
        ties = np.searchsorted(ordered, loss, side="right") - np.searchsorted(ordered, loss)
        scores = (above + 0.5 * ties) / len(ordered)
        # Within one population-quantile bin a lower loss is still more member-like.
        scores = break_ties(scores, -loss, len(ordered))
        return AttackOutput(scores=scores, facts={"population_records": float(len(pick))})
