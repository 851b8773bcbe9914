"""Distance to closest record (DCR) membership inference, with the holdout distance ratio.

After Chen et al., "GAN-Leaks: A Taxonomy of Membership Inference Attacks against Generative
Models", ACM CCS 2020 (the distance-based attack) and the DCR ratio of synthetic-to-reference
distances used in synthetic-data audits (e.g. Yale et al., "Generation and evaluation of privacy
preserving synthetic health data", Neurocomputing 2020). A target much closer to a synthetic
record than to any of the adversary's own reference records was likely in the training set.
Score: d_reference / d_synthetic (ratio) or -d_synthetic; higher = more likely a member.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from sklearn.neighbors import NearestNeighbors

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.errors import InvalidArgument

EPS = 1e-6


class DcrParams(AttackParams):
    ratio: bool = Field(default=True, description="divide by the distance to the reference data")


def closest(reference: np.ndarray, query: np.ndarray, cores: int) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=1, metric="manhattan", n_jobs=cores).fit(reference)
    return np.asarray(nn.kneighbors(query)[0][:, 0])


class DistanceToClosestRecord(SyntheticAttack):
    name: ClassVar[str] = "dcr"
    summary: ClassVar[str] = "Membership from the distance to the closest synthetic record."
    paper: ClassVar[str] = ("Chen et al., GAN-Leaks: A Taxonomy of Membership Inference "
                            "Attacks against Generative Models, ACM CCS 2020")
    Params: ClassVar[type[AttackParams]] = DcrParams
    result_kind: ClassVar[str] = MEMBERSHIP

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, DcrParams)
        r = Release.of(ctx)
        syn_known = r.synthetic[:, list(r.known)]
        if not params.ratio:
            syn, targets = r.scaled(r.known, syn_known, r.targets)
            return AttackOutput(scores=-closest(syn, targets, ctx.cores))
        if r.reference is None:
            raise InvalidArgument("data.population", "the ratio needs reference records")
        syn, targets, ref = r.scaled(r.known, syn_known, r.targets, r.reference)
        d_syn = closest(syn, targets, ctx.cores)
        d_ref = closest(ref, targets, ctx.cores)
        return AttackOutput(scores=np.log((d_ref + EPS) / (d_syn + EPS)))
