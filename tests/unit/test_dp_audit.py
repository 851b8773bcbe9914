"""The DP audit's bounds against hand-computed cases (metrics/dp_audit.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leakrange.common.errors import InvalidArgument
from leakrange.metrics.dp_audit import (
    clopper_pearson_upper,
    epsilon_from_rates,
    halves,
    one_run_epsilon,
    one_run_p_value,
    threshold_bound,
)


def test_epsilon_from_rates_hand_cases() -> None:
    assert float(epsilon_from_rates(0.1, 0.2, 0.0)) == pytest.approx(math.log(0.8 / 0.1))
    assert float(epsilon_from_rates(0.2, 0.1, 0.0)) == pytest.approx(math.log(0.8 / 0.1))
    # delta 0.1: max(log((0.9 - 0.1) / 0.2), log((0.9 - 0.2) / 0.1)) = log 7
    assert float(epsilon_from_rates(0.1, 0.2, 0.1)) == pytest.approx(math.log(7.0))
    assert float(epsilon_from_rates(0.5, 0.5, 0.0)) == 0.0  # a coin flip proves nothing
    assert float(epsilon_from_rates(0.6, 0.6, 0.0)) == 0.0  # worse than chance: clipped at 0
    assert math.isinf(float(epsilon_from_rates(0.0, 0.3, 0.0)))


def test_clopper_pearson_upper_hand_cases() -> None:
    # k = 0: (1 - p)^n = alpha; k = n - 1: 1 - p^n = alpha; k = n: 1.
    assert float(clopper_pearson_upper(0, 10, 0.05)) == pytest.approx(1 - 0.05 ** 0.1)
    assert float(clopper_pearson_upper(9, 10, 0.05)) == pytest.approx(0.95 ** 0.1)
    assert float(clopper_pearson_upper(10, 10, 0.05)) == 1.0
    with pytest.raises(InvalidArgument):
        clopper_pearson_upper(3, 2, 0.05)


def test_one_run_bound_hand_case() -> None:
    # delta = 0, all 100 guesses right: P[Bin(100, q) >= 100] = q^100 = 0.05 at the bound.
    q = 0.05 ** (1 / 100)
    assert one_run_epsilon(1000, 100, 100, 0.0, 0.95) == pytest.approx(
        math.log(q / (1 - q)), abs=1e-6)
    # Half right is what guessing gets: no bound.
    assert one_run_epsilon(1000, 100, 50, 0.0, 0.95) == 0.0
    # delta adds probability mass, so it can only lower the bound.
    assert one_run_p_value(1000, 100, 90, 2.0, 1e-3) > one_run_p_value(1000, 100, 90, 2.0, 0.0)
    assert one_run_epsilon(1000, 100, 90, 1e-3, 0.95) < one_run_epsilon(1000, 100, 90, 0.0, 0.95)


def test_threshold_bound_on_perfect_and_random_scores() -> None:
    member = np.r_[np.ones(1000, bool), np.zeros(1000, bool)]
    perfect = member.astype(float)
    bound = threshold_bound(perfect, member, delta=0.0, confidence=0.95, seed=3)
    # 500 per side on the evaluation half, no errors: both rates bounded by 1 - 0.025^(1/500).
    u = 1 - 0.025 ** (1 / 500)
    assert bound.n_evaluated == 1000
    assert bound.epsilon_lower == pytest.approx(math.log((1 - u) / u))
    rng = np.random.default_rng(0)
    noise = threshold_bound(rng.normal(size=2000), member, delta=1e-5, seed=3)
    assert noise.epsilon_lower == 0.0


def test_halves_are_stratified_and_disjoint() -> None:
    member = np.r_[np.ones(11, bool), np.zeros(9, bool)]
    a, b = halves(member, seed=1)
    assert set(a).isdisjoint(b) and len(a) + len(b) == 20
    assert member[a].sum() == 5 and member[b].sum() == 6
