"""Scoring math of the reference-model attacks, on crafted inputs."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.attacks.mia.lira import gaussian_stats, lira_scores
from leakrange.attacks.mia.reference_models import balanced_masks, cache_key, reference_seeds
from leakrange.attacks.mia.rmia import offline_correction, rmia_scores
from leakrange.attacks.mia.signals import from_logits, from_probabilities, from_topk


@pytest.mark.parametrize(("models", "fraction", "per_record"), [(16, 0.5, 8), (16, 0.25, 4),
                                                                 (8, 0.5, 4)])
def test_balanced_masks_put_every_record_in_the_same_number_of_models(models, fraction,
                                                                      per_record):
    masks = balanced_masks(models, 1000, seed=3, in_fraction=fraction)
    assert (masks.sum(axis=0) == per_record).all()
    assert abs(masks.sum(axis=1).mean() - 1000 * fraction) < 1
    np.testing.assert_array_equal(masks, balanced_masks(models, 1000, 3, fraction))


def test_fixed_variance_is_mean_within_example_variance_not_pooled_spread():
    rng = np.random.default_rng(0)
    # Examples with very different means but the same within-example spread (std 0.5).
    means = np.linspace(-10, 10, 50)
    phi = means[None, :] + rng.normal(0, 0.5, (400, 50))
    mask = np.ones_like(phi, dtype=bool)
    _, sd_fixed = gaussian_stats(phi, mask, fixed=True)
    assert np.allclose(sd_fixed, 0.5, atol=0.03)  # pooled spread would be ~6
    assert phi.std() > 5


def test_lira_online_prefers_in_distribution():
    ref = np.array([[3.0, 3.0], [3.2, 3.2], [0.0, 0.0], [0.2, 0.2]])
    in_mask = np.array([[True, True], [True, True], [False, False], [False, False]])
    scores = lira_scores(np.array([3.1, 0.1]), ref, in_mask, online=True, fixed_variance=True)
    assert scores[0] > 0 > scores[1]
    offline = lira_scores(np.array([3.1, 0.1]), ref, in_mask, online=False,
                          fixed_variance=False)
    assert offline[0] > offline[1]


def test_rmia_counts_dominated_z_samples():
    target_pz = np.array([0.5, 0.5, 0.5, 0.5])
    ref_pz = np.array([0.5, 0.25, 1.0, 0.5])  # ratios 1, 2, 0.5, 1
    scores = rmia_scores(np.array([0.9, 0.1]), np.array([0.5, 0.5]), target_pz, ref_pz, 1.0)
    # ratio_x = 1.8 beats 1, 1, 0.5 (3 of 4); 0.2 beats none.
    np.testing.assert_allclose(scores, [0.75, 0.0])
    np.testing.assert_allclose(offline_correction(np.array([0.4]), 0.5), [0.55])


def test_signals_agree_across_output_kinds():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
    y = np.array([0, 2])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    a, b = from_logits(logits, y), from_probabilities(probs, y)
    np.testing.assert_allclose(a.phi, b.phi, rtol=1e-6)
    np.testing.assert_allclose(a.log_prob, b.log_prob, rtol=1e-6)
    order = np.argsort(-probs, axis=1)[:, :1]
    top = from_topk(np.take_along_axis(probs, order, 1), order, y, 3)
    np.testing.assert_allclose(top.prob, a.prob, rtol=1e-6)


def test_cache_key_changes_with_any_input_and_seeds_fit_31_bits():
    x = np.zeros((3, 2), np.float32)
    base = cache_key(x, {"lr": 0.1}, 4)
    assert base == cache_key(x.copy(), {"lr": 0.1}, 4)
    assert base != cache_key(x + 1, {"lr": 0.1}, 4)
    assert base != cache_key(x, {"lr": 0.2}, 4)
    assert base != cache_key(x, {"lr": 0.1}, 5)
    seeds = reference_seeds(2**62, 8)
    assert len(set(seeds)) == 8 and all(0 <= s < 2**31 for s in seeds)
