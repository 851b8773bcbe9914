"""The attacked targets of a synthetic release, matched on the secret column
(``synthetic/target_picks.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.metrics.risk import synthetic_risk
from leakrange.synthetic.target_picks import matched_picks, matched_quotas


def _sides(seed: int, n_original: int = 600, n_control: int = 300, p: float = 0.24
           ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.random(n_original) < p).astype(np.int64), (rng.random(n_control) < p).astype(
        np.int64)


@pytest.mark.parametrize("seed", range(5))
def test_both_sides_hold_n_distinct_targets_with_the_same_secret_counts(seed: int) -> None:
    original, control = _sides(seed)
    a, c = matched_picks(original, control, 150, np.random.default_rng(seed))
    assert len(a) == len(np.unique(a)) == 150 and len(c) == len(np.unique(c)) == 150
    assert a.max() < len(original) and c.max() < len(control)
    assert np.bincount(original[a], minlength=2).tolist() == \
        np.bincount(control[c], minlength=2).tolist()
    pooled = np.concatenate([original, control]).mean()
    assert abs(original[a].mean() - pooled) <= 1 / 150


def test_quotas_follow_the_pooled_shares_and_the_caps() -> None:
    original = np.array([0] * 70 + [1] * 20 + [2] * 10)
    control = np.array([0] * 80 + [1] * 20)           # value 2 only on the original side
    # shares of 50: 37.5, 10 and 2.5; value 2 has nothing to match it on the control side, so
    # its 2.5 go to the value with the most room left (0: 70 and 80 records)
    assert matched_quotas(original, control, 50) == {0: 40, 1: 10}
    # 120: value 0 is capped at 70 and value 1 at 20; the other 30 are drawn at random
    assert matched_quotas(original, control, 120) == {0: 70, 1: 20}


def test_a_value_rare_on_one_side_still_gives_n_targets_each() -> None:
    original = np.array([0] * 10 + [1] * 90)
    control = np.array([0] * 90 + [1] * 10)
    a, c = matched_picks(original, control, 60, np.random.default_rng(0))
    assert len(np.unique(a)) == 60 and len(np.unique(c)) == 60
    matched = matched_quotas(original, control, 60)
    assert sum(matched.values()) == 20                # 10 of each value can be matched
    # the matched part is in both; the rest was drawn from what was left
    assert np.count_nonzero(original[a] == 0) >= 10 and np.count_nonzero(control[c] == 1) >= 10


def test_more_targets_than_records_is_refused() -> None:
    with pytest.raises(ValueError, match="more targets"):
        matched_picks(np.zeros(10, np.int64), np.zeros(5, np.int64), 6, np.random.default_rng(0))


@pytest.mark.parametrize("seed", range(20))
def test_guessing_the_common_value_shows_no_risk_on_any_draw(seed: int) -> None:
    """The attack of a release that says nothing about anyone: guess the most common secret
    for everybody. Matched targets give it the same success on both sides, so its residual
    risk is exactly 0 on every draw; random targets would show the draw's composition."""
    original, control = _sides(seed)
    a, c = matched_picks(original, control, 150, np.random.default_rng(seed))
    attack, ctrl = float(np.mean(original[a] == 0)), float(np.mean(control[c] == 0))
    assert attack == ctrl
    assert synthetic_risk(attack, ctrl, 150).value == 0.0
