"""Reference pools and signals: IN fractions, stated shrinkage, phi computed alike."""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.attacks.mia.reference_models import plan_pool
from leakrange.attacks.mia.signals import from_logits, from_probabilities, policy_signals
from leakrange.target.policy import AccessPolicy, shape_outputs


def test_online_pool_puts_every_record_in_half_of_the_models_whatever_train_size():
    plan = plan_pool(8, 1000, seed=1, online=True, train_size=125)
    assert (plan.masks.sum(axis=0) == 4).all()
    assert plan.facts["reference_in_fraction"] == 0.5
    assert plan.facts["reference_train_records"] == 500.0
    assert not plan.shrunk  # more per model than asked is not a shortfall


def test_offline_pool_states_a_shortfall_instead_of_shrinking_silently():
    plan = plan_pool(4, 600, seed=1, online=False, train_size=2500)
    assert plan.shrunk
    assert plan.facts["reference_train_size_requested"] == 2500.0
    assert plan.facts["reference_train_records"] < 600
    assert plan.facts["reference_train_shortfall"] == 2500.0 - plan.facts[
        "reference_train_records"]
    fits = plan_pool(4, 6000, seed=1, online=False, train_size=2500)
    assert not fits.shrunk and fits.facts["reference_train_records"] >= 2500.0


@pytest.mark.parametrize("margin", [5.0, 20.0, 30.0, 40.0, 80.0])
def test_phi_from_float32_probabilities_keeps_large_margins(margin):
    logits = np.array([[margin, 0.0], [0.0, margin], [1.0, 3.0]])
    y = np.array([0, 1, 0])
    probs, _ = shape_outputs(logits, AccessPolicy("probabilities"))  # float32, as served
    expected = from_logits(logits, y).phi
    np.testing.assert_allclose(from_probabilities(probs, y).phi, expected, rtol=1e-5, atol=1e-5)


def test_reference_signals_go_through_the_targets_policy():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 12, (3, 40, 4))  # [models, records, classes]
    y = rng.integers(0, 4, 40)
    for policy in (AccessPolicy("probabilities", rounding=2), AccessPolicy("topk", top_k=2),
                   AccessPolicy("logits")):
        sig = policy_signals(logits, y, policy, 4)
        assert sig.phi.shape == (3, 40)
        for m in range(3):
            values, indices = shape_outputs(logits[m], policy)
            from leakrange.attacks.mia.signals import from_output
            from leakrange.target.client import PredictOutput

            own = from_output(PredictOutput(policy.output, values, indices, -1, 40), y, 4)
            np.testing.assert_array_equal(sig.phi[m], own.phi)
