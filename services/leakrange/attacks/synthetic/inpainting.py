"""In-painting: fill in the hidden part of a partly known record from the synthetic table.

The adversary knows some columns of each in-painting target (a different random subset per
target, chosen by the range) and fills in the rest with nearest-neighbour in-painting: the
``n_neighbors`` synthetic records closest on the target's *known* columns (Anonymeter's
mixed-type L1 distance: numeric columns over their range, a categorical mismatch costs 1) vote
on each hidden categorical cell (majority) and give each hidden numeric cell their median.
This is the partial-knowledge attribute-inference adversary of Stadler, Oprisanu and Troncoso,
"Synthetic Data - Anonymisation Groundhog Day", USENIX Security 2022 (Section 4.3), generalised
from one secret column to every unknown one, and evaluated as in Giomi et al., "A Unified
Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs 2023: the range scores every
hidden cell against the real record, per masked attribute, for original targets (the generator
saw them) against control targets (it did not), beside a naive baseline.

Vectorised: distances for a block of targets against the whole synthetic table at once, one
array operation per column (the known set differs per target, so one masked distance matrix
replaces a neighbour index per subset).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from leakrange.attacks.base import AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.synthetic.release import Release, SyntheticAttack
from leakrange.common.attack_info import SYNTHETIC_RISK
from leakrange.common.errors import InvalidArgument

PAPER = ("Stadler, Oprisanu and Troncoso, Synthetic Data - Anonymisation Groundhog Day, "
         "USENIX Security 2022; scored as in Giomi et al., PoPETs 2023 (Anonymeter)")
BLOCK_CELLS = 4_000_000  # targets x synthetic rows per distance block (32 MB of float64)


class InpaintingParams(AttackParams):
    n_neighbors: int = Field(default=1, ge=1, le=64,
                             description="nearest synthetic records that fill each record")


def masked_distances(targets: np.ndarray, known: np.ndarray, synthetic: np.ndarray,
                     categorical: np.ndarray, span: np.ndarray) -> np.ndarray:
    """targets x synthetic L1 distances over each target's known columns only."""
    d = np.zeros((len(targets), len(synthetic)))
    for j in range(synthetic.shape[1]):
        diff = targets[:, j:j + 1] != synthetic[None, :, j] if categorical[j] else \
            np.abs(targets[:, j:j + 1] - synthetic[None, :, j]) / span[j]
        d += known[:, j:j + 1] * diff
    return d


def inpaint(targets: np.ndarray, known: np.ndarray, synthetic: np.ndarray,
            categorical: np.ndarray, k: int) -> np.ndarray:
    """Every cell of ``targets``: known cells kept, hidden cells filled from the ``k`` nearest
    synthetic records (categorical: majority vote, ties to the lowest code; numeric: median)."""
    span = synthetic.max(axis=0) - synthetic.min(axis=0)
    span = np.where(span > 0, span, 1.0)
    k = min(k, len(synthetic))
    filled = np.empty_like(targets)
    block = max(1, BLOCK_CELLS // max(len(synthetic), 1))
    for start in range(0, len(targets), block):
        t, m = targets[start:start + block], known[start:start + block]
        d = masked_distances(t, m, synthetic, categorical, span)
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k] if k < len(synthetic) else \
            np.broadcast_to(np.arange(len(synthetic)), (len(t), len(synthetic)))
        values = synthetic[nearest]  # block x k x columns
        guess = np.median(values, axis=1)
        for j in np.flatnonzero(categorical):
            codes = values[:, :, j].astype(np.int64)
            votes = np.zeros((len(t), int(codes.max()) + 1), np.int64)
            np.add.at(votes, (np.arange(len(t))[:, None], codes), 1)
            guess[:, j] = votes.argmax(axis=1)
        filled[start:start + block] = np.where(m > 0, t, guess)
    return filled


class Inpainting(SyntheticAttack):
    name: ClassVar[str] = "inpainting"
    summary: ClassVar[str] = ("Fill in the unknown columns of partly known records from their "
                              "nearest synthetic records.")
    paper: ClassVar[str] = PAPER
    Params: ClassVar[type[AttackParams]] = InpaintingParams
    result_kind: ClassVar[str] = SYNTHETIC_RISK

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, InpaintingParams)
        r = Release.of(ctx)
        rows, known = ctx.extras.get("inpaint_x"), ctx.extras.get("inpaint_known")
        if not isinstance(rows, np.ndarray) or not isinstance(known, np.ndarray):
            raise InvalidArgument("data.audit.inpaint_x", "this attack needs in-painting targets")
        if rows.shape != known.shape or rows.shape[1:] != r.synthetic.shape[1:]:
            raise InvalidArgument("data.audit.inpaint_known",
                                  "one row per target and one column per table column")
        ctx.progress("inpainting", 0, 1, "")
        filled = inpaint(rows, known, r.synthetic, r.columns.categorical, params.n_neighbors)
        ctx.progress("inpainting", 1, 1, "")
        return AttackOutput(outputs={"inpainted": filled.astype(np.float64)},
                            facts={"targets": float(len(rows))})
