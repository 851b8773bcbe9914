"""Linkability (Giomi et al., PoPETs 2023, Section 4.2; the Anonymeter method).

The adversary holds two column sets of the same people in two files (``link_a`` = its targets'
first column set, ``link_b`` = the second set, in an unknown order) and links them through the
synthetic table: each half's ``n_neighbors`` nearest synthetic records (on its own columns) are
found; a target is linked to the ``link_b`` row sharing the most neighbours with it (none when
no row shares one). Vectorised with a sparse neighbour-overlap product.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.attacks.synthetic.singling_out import PAPER
from leakrange.common.attack_info import SYNTHETIC_RISK
from leakrange.common.errors import InvalidArgument


class LinkabilityParams(AttackParams):
    n_neighbors: int = Field(default=1, ge=1, le=64)


def _neighbours(r: Release, cols: tuple[int, ...], rows: np.ndarray, k: int, cores: int
                ) -> np.ndarray:
    syn, query = r.scaled(cols, r.synthetic[:, list(cols)], rows)
    nn = NearestNeighbors(n_neighbors=min(k, len(syn)), metric="manhattan", n_jobs=cores)
    return np.asarray(nn.fit(syn).kneighbors(query, return_distance=False))


def _indicator(idx: np.ndarray, n_syn: int) -> sparse.csr_matrix:
    rows = np.repeat(np.arange(len(idx)), idx.shape[1])
    return sparse.csr_matrix((np.ones(idx.size), (rows, idx.ravel())), shape=(len(idx), n_syn))


class Linkability(SyntheticAttack):
    name: ClassVar[str] = "linkability"
    summary: ClassVar[str] = "Link two halves of people's records through the synthetic table."
    paper: ClassVar[str] = PAPER
    Params: ClassVar[type[AttackParams]] = LinkabilityParams
    result_kind: ClassVar[str] = SYNTHETIC_RISK

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, LinkabilityParams)
        r = Release.of(ctx)
        if r.link_b_rows is None or r.link_b_rows.shape[1] != len(r.link_b):
            raise InvalidArgument("data.audit.link_b", "this attack needs the second half")
        a_rows = r.targets[:, [r.known.index(j) for j in r.link_a]]
        a = _neighbours(r, r.link_a, a_rows, params.n_neighbors, ctx.cores)
        b = _neighbours(r, r.link_b, r.link_b_rows, params.n_neighbors, ctx.cores)
        overlap = (_indicator(a, len(r.synthetic)) @ _indicator(b, len(r.synthetic)).T).tocsr()
        best = np.asarray(overlap.argmax(axis=1)).ravel()
        has = np.asarray(overlap.max(axis=1).todense()).ravel() > 0
        return AttackOutput(outputs={"links": np.where(has, best, -1).astype(np.int64)})
