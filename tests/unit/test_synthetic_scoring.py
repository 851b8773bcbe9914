"""The synthetic-risk scorer's pieces that Anonymeter gets wrong or that are easy to get wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakrange.scoring.synthetic_risk import baseline_hits, chunked_matches
from leakrange.synthetic.predicates import EQ


def _label_matched(truth: pd.Series, synthetic: pd.Series, rng: np.random.Generator
                   ) -> np.ndarray:
    """Anonymeter 1.x's defect, for contrast: guesses keep the synthetic rows' labels and are
    compared with the targets' secrets by label (unmatched labels count as misses)."""
    guess = synthetic.iloc[rng.integers(0, len(synthetic), len(truth))]
    aligned = guess.groupby(level=0).first().reindex(truth.index)
    return np.asarray(aligned == truth)


def test_inference_baseline_matches_guesses_by_position_not_by_row_label() -> None:
    """Targets sampled from a large original keep their row labels; a random synthetic record's
    secret is right with probability sum p_k^2 (here 0.7^2 + 0.3^2 = 58 %) whatever the labels."""
    rng = np.random.default_rng(0)
    n_original, n_targets = 10_000, 2_000
    secret = (rng.random(n_original) < 0.3).astype(np.int64)
    labels = rng.choice(n_original, n_targets, replace=False)  # shuffled, not 0..n-1
    truth = pd.Series(secret[labels], index=labels)
    synthetic = pd.Series((rng.random(n_original) < 0.3).astype(np.int64),
                          index=rng.permutation(n_original))
    chance = 0.7 ** 2 + 0.3 ** 2
    ours = baseline_hits(truth, synthetic, np.random.default_rng(1)).mean()
    assert abs(ours - chance) < 0.03, ours
    by_label = _label_matched(truth, synthetic, np.random.default_rng(1)).mean()
    assert by_label < 0.3 * chance, by_label  # what Anonymeter reports: a few per cent


def test_singling_out_compares_tables_of_equal_size() -> None:
    """A predicate that matches 1 row in 1,000 expected singles out one row of a 1,000-row
    table about 37 % of the time but one row of 5,000 rows about 3 %: the original is cut into
    control-sized chunks so that the same predicates score alike on the same distribution."""
    rng = np.random.default_rng(0)
    big, small = rng.integers(0, 1000, (5000, 1)), rng.integers(0, 1000, (1000, 1))
    col = np.zeros((400, 1), np.int64)
    op = np.full((400, 1), EQ, np.int64)
    value = rng.integers(0, 1000, (400, 1)).astype(np.float64)
    on_big = chunked_matches(big.astype(np.float64), 1000, col, op, value, rng).mean()
    on_small = chunked_matches(small.astype(np.float64), 1000, col, op, value, rng).mean()
    assert abs(on_big - on_small) < 0.05, (on_big, on_small)
    whole = chunked_matches(big.astype(np.float64), 5000, col, op, value, rng).mean()
    assert whole < on_small - 0.2, (whole, on_small)
