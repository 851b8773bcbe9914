"""DOMIAS membership inference (van Breugel et al., "Membership Inference Attacks against
Synthetic Data through Overfitting Detection", AISTATS 2023).

Score = log p_synthetic(x) - log p_reference(x): a generator that overfits puts more density on
its training records than the data distribution does. Both densities are Gaussian kernel
density estimates (the paper's KDE variant) in the mixed-type space of the known columns
(numeric columns over their range, categorical ones one-hot / 2).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sklearn.neighbors import KernelDensity

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.errors import InvalidArgument


class DomiasParams(AttackParams):
    bandwidth: float = Field(default=0.05, gt=0.0, le=10.0,
                             description="Gaussian kernel bandwidth in the scaled space")


class Domias(SyntheticAttack):
    name: ClassVar[str] = "domias"
    summary: ClassVar[str] = "Membership from the density ratio of synthetic to reference data."
    paper: ClassVar[str] = ("van Breugel et al., Membership Inference Attacks against Synthetic "
                            "Data through Overfitting Detection, AISTATS 2023")
    Params: ClassVar[type[AttackParams]] = DomiasParams
    result_kind: ClassVar[str] = MEMBERSHIP

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, DomiasParams)
        r = Release.of(ctx)
        if r.reference is None:
            raise InvalidArgument("data.population", "DOMIAS needs reference records")
        syn, targets, ref = r.scaled(r.known, r.synthetic[:, list(r.known)], r.targets,
                                     r.reference)
        p_syn = KernelDensity(bandwidth=params.bandwidth).fit(syn).score_samples(targets)
        p_ref = KernelDensity(bandwidth=params.bandwidth).fit(ref).score_samples(targets)
        return AttackOutput(scores=p_syn - p_ref)
