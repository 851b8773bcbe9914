"""Pairing of reconstructions with a client batch's records (Hungarian method on MSE)."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.common.errors import InvalidArgument
from leakrange.metrics.reconstruction_matching import match_by_mse


def test_a_shuffled_noisy_batch_is_paired_back() -> None:
    rng = np.random.default_rng(0)
    orig = rng.random((6, 3, 8, 8))
    perm = rng.permutation(6)
    rec = orig[perm] + rng.normal(0, 0.01, orig.shape)
    rows, cols = match_by_mse(rec, orig)
    assert cols.tolist() == list(range(6))
    assert np.array_equal(perm[rows], cols)


def test_fewer_reconstructions_than_records_pair_each_once() -> None:
    rng = np.random.default_rng(1)
    orig = rng.random((5, 4))
    rows, cols = match_by_mse(orig[[3, 1]], orig)
    assert cols.tolist() == [1, 3] and rows.tolist() == [1, 0]


def test_bad_inputs() -> None:
    with pytest.raises(InvalidArgument, match=r"reconstructions\.shape"):
        match_by_mse(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(InvalidArgument, match="finite"):
        match_by_mse(np.full((1, 3), np.nan), np.zeros((1, 3)))
