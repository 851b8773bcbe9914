"""Attribute inference (Giomi et al., PoPETs 2023, Section 4.3; the Anonymeter method).

The adversary knows every column of a target but the secret one; it finds the target's nearest
record in the synthetic table on the known columns (Gower-like L1 distance: numeric columns over
their range, categorical mismatches cost 1) and guesses that record's secret value.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from sklearn.neighbors import NearestNeighbors

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.attacks.synthetic.singling_out import PAPER
from leakrange.common.attack_info import SYNTHETIC_RISK


class InferenceParams(AttackParams):
    n_neighbors: int = Field(default=1, ge=1, le=64,
                             description="majority vote over this many nearest records")


class AttributeInference(SyntheticAttack):
    name: ClassVar[str] = "attribute-inference"
    summary: ClassVar[str] = "Guess a target's secret column from its nearest synthetic record."
    paper: ClassVar[str] = PAPER
    Params: ClassVar[type[AttackParams]] = InferenceParams
    result_kind: ClassVar[str] = SYNTHETIC_RISK

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, InferenceParams)
        r = Release.of(ctx)
        syn, targets = r.scaled(r.known, r.synthetic[:, list(r.known)], r.targets)
        nn = NearestNeighbors(n_neighbors=min(params.n_neighbors, len(syn)), metric="manhattan",
                              n_jobs=ctx.cores).fit(syn)
        _, idx = nn.kneighbors(targets)
        secrets = r.synthetic[:, r.secret].astype(np.int64)[idx]  # targets x k
        n_values = int(secrets.max()) + 1
        votes = np.zeros((len(secrets), n_values), np.int64)
        np.add.at(votes, (np.arange(len(secrets))[:, None], secrets), 1)
        return AttackOutput(outputs={"guesses": votes.argmax(axis=1).astype(np.int64)})
