"""DP-SGD, early stopping and label smoothing in the recipe; the DP audit catches a DP-SGD
training whose noise is cut tenfold while its accountant is told the original."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch.nn import functional as F

from leakrange.metrics.dp_audit import one_run_bound, threshold_bound
from leakrange.models import TrainRecipe, zoo_spec
from leakrange.models.batched_trainer import models_logits
from leakrange.models.dp_sgd import fit_dp_model
from leakrange.models.trainer import fit, fit_model, predict_tensor_logits, training_tensors
from leakrange.scoring.dp_audit import dp_audit_findings

CPU = torch.device("cpu")
SPEC = zoo_spec("mlp", [64], 10)


def digits(random_labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    if random_labels:  # canaries: only memorisation can fit them (Jagielski et al. 2020)
        y = np.random.default_rng(1).integers(0, 10, len(y))
    return (x / 16).astype(np.float32), y.astype(np.int64)


def test_dp_sgd_accountant_stays_within_the_claim() -> None:
    x, y = digits()
    xt, yt = training_tensors(SPEC, x[:500], y[:500], CPU)
    recipe = TrainRecipe(epochs=3, batch_size=50, lr=0.01,
                         privacy={"dp_sgd": {"epsilon": 2.0, "delta": 1e-5}})
    fitted = fit(SPEC, recipe, xt, yt, CPU)
    acc = fitted.accounting
    assert acc is not None and acc.steps == 30 and acc.sample_rate == pytest.approx(0.1)
    assert 1.8 < acc.epsilon <= 2.0 + 1e-6
    again = fit(SPEC, recipe, xt, yt, CPU)  # same seed, same weights
    for p, q in zip(fitted.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_early_stopping_and_label_smoothing_change_the_training() -> None:
    x, y = digits()
    xt, yt = training_tensors(SPEC, x[:400], y[:400], CPU)
    val = training_tensors(SPEC, x[400:600], y[400:600], CPU)
    stopped = fit(SPEC, TrainRecipe(epochs=200, lr=0.05, early_stopping={"patience": 2}),
                  xt, yt, CPU, validation=val)
    assert 1 <= stopped.epochs_run < 200
    plain = fit_model(SPEC, TrainRecipe(epochs=5), xt, yt, CPU)
    smooth = fit_model(SPEC, TrainRecipe(epochs=5, label_smoothing=0.3), xt, yt, CPU)
    conf_plain = F.softmax(plain(xt), 1).max(1).values.mean()
    conf_smooth = F.softmax(smooth(xt), 1).max(1).values.mean()
    assert conf_smooth < conf_plain


def test_batched_kernel_trains_dp_recipes_model_by_model() -> None:
    x, y = digits()
    xt, yt = training_tensors(SPEC, x[:300], y[:300], CPU)
    recipe = TrainRecipe(epochs=1, batch_size=50, privacy={"dp_sgd": {"epsilon": 4.0}})
    rows = [np.arange(0, 150), np.arange(150, 300)]
    logits = models_logits("batched", SPEC, recipe, xt, yt, rows, [7, 8], xt[:20], CPU, None)
    one = fit_dp_model(SPEC, recipe.model_copy(update={"seed": 8}), xt[150:], yt[150:], CPU)
    np.testing.assert_allclose(logits[1], predict_tensor_logits(one.model, xt[:20]), rtol=1e-5)


def _audit(noise_scale: float) -> dict[str, object]:
    x, y = digits(random_labels=True)
    order = np.random.default_rng(0).permutation(len(y))
    n = 300
    members, nonmembers = order[:n], order[n : 2 * n]
    xt, yt = training_tensors(SPEC, x[members], y[members], CPU)
    recipe = TrainRecipe(epochs=60, lr=0.02, batch_size=50,
                         privacy={"dp_sgd": {"epsilon": 1.0, "max_grad_norm": 1.0}})
    fitted = fit_dp_model(SPEC, recipe, xt, yt, CPU, noise_scale=noise_scale)
    assert fitted.accounting is not None and fitted.accounting.epsilon <= 1.0 + 1e-6
    rows = np.concatenate([members, nonmembers])
    with torch.no_grad():
        loss = F.cross_entropy(fitted.model(torch.as_tensor(x[rows])),
                               torch.as_tensor(y[rows]), reduction="none").numpy()
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    claim = {"epsilon": 1.0, "delta": 1e-5, "accountant_epsilon": fitted.accounting.epsilon}
    return dp_audit_findings(-loss, member, claim, seed=0)


def test_audit_flags_broken_dp_sgd_and_not_a_correct_one() -> None:
    broken = _audit(noise_scale=0.1)  # a tenth of the noise; the accountant told sigma
    correct = _audit(noise_scale=1.0)
    assert broken["violated"] is True
    assert float(broken["epsilon_lower"]) > 1.0  # type: ignore[arg-type]
    assert correct["violated"] is False
    assert float(correct["epsilon_lower"]) <= 1.0  # type: ignore[arg-type]


def test_bounds_never_exceed_what_the_data_can_show() -> None:
    member = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    for bound in (threshold_bound, one_run_bound):
        b = bound(member.astype(float), member, delta=1e-5)
        assert 0.0 < b.epsilon_lower < 10.0  # 25 records a side cap a 95 % bound
