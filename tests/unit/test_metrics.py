"""Metrics: MIA ROC statistics with CIs, risk levels, Anonymeter risk, image metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from leakrange.common.errors import InvalidArgument
from leakrange.metrics import (
    Estimate,
    MiaMetrics,
    OperatingPoint,
    RocCurve,
    compute_mia_metrics,
    label_accuracy,
    percent_key,
    plain_summary,
    ppv,
    psnr,
    risk_level,
    ssim,
    synthetic_risk,
)
from leakrange.metrics.roc_counts import level_counts, resampled_counts, roc_statistics


def _gaussian_scores(n: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    return scores, member


def _mann_whitney_auc(scores: np.ndarray, member: np.ndarray) -> float:
    pos, neg = scores[member][:, None], scores[~member][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


# --------------------------------------------------------------------------- MIA metrics


def test_percent_keys() -> None:
    assert [percent_key(f) for f in (0.1, 0.01, 0.001, 0.0, 0.5)] == [
        "10%", "1%", "0.1%", "0%", "50%",
    ]


def test_perfectly_separated_scores() -> None:
    member = np.r_[np.ones(50, bool), np.zeros(60, bool)]
    scores = np.r_[np.linspace(2, 3, 50), np.linspace(0, 1, 60)]
    m = compute_mia_metrics(scores, member, n_bootstrap=50)
    assert m.auc == Estimate(value=1.0, ci_low=1.0, ci_high=1.0)
    assert set(m.tpr_at_fpr) == {"10%", "1%", "0.1%", "0%"}
    for est in m.tpr_at_fpr.values():
        assert est.value == 1.0 and est.ci_low == 1.0
    assert m.advantage.value == 1.0
    assert m.balanced_accuracy == 1.0
    op = m.precision_at_prior["1%"]
    assert (op.tpr, op.fpr) == (1.0, 0.0)
    assert op.precision == {"1%": 1.0, "10%": 1.0, "50%": 1.0}
    assert (m.n_members, m.n_nonmembers) == (50, 60)


def test_random_scores_auc_ci_contains_chance() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(1200)
    member = np.r_[np.ones(600, bool), np.zeros(600, bool)]
    m = compute_mia_metrics(scores, member, n_bootstrap=200, seed=1)
    assert m.auc.lower < 0.5 < m.auc.upper
    assert m.auc.upper - m.auc.lower < 0.1
    assert risk_level(m) == "low"


def test_tpr_at_fpr_definition_on_hand_made_case() -> None:
    nonmembers = np.arange(100, dtype=float)  # 0 .. 99
    members = np.array([200, 150, 99.5, 98.5, 50, 40, 30, 20, 10, 5], dtype=float)
    scores = np.r_[members, nonmembers]
    member = np.r_[np.ones(10, bool), np.zeros(100, bool)]
    m = compute_mia_metrics(scores, member, n_bootstrap=0, fprs=(0.1, 0.02, 0.01, 0.001, 0.0))
    # Above every non-member (99): 200, 150, 99.5. A threshold at 98.5 flags one non-member (99)
    # and adds 98.5; the next member (50) only comes after 50 non-members.
    assert m.tpr_at_fpr["0%"].value == pytest.approx(0.3)
    assert m.tpr_at_fpr["0.1%"].value == pytest.approx(0.3)  # below 1/100: unmeasurable
    assert m.tpr_at_fpr["1%"].value == pytest.approx(0.4)
    assert m.tpr_at_fpr["2%"].value == pytest.approx(0.4)
    assert m.tpr_at_fpr["10%"].value == pytest.approx(0.4)
    assert m.tpr_at_fpr["0%"].ci_low is None  # no bootstrap requested
    op = m.precision_at_prior["1%"]
    assert (op.tpr, op.fpr) == (pytest.approx(0.4), pytest.approx(0.01))
    assert m.advantage.value == pytest.approx(0.4 - 0.01)


def test_tied_scores_match_mann_whitney() -> None:
    rng = np.random.default_rng(7)
    member = rng.random(400) < 0.4
    scores = rng.integers(0, 4, 400).astype(float) + member * (rng.random(400) < 0.3)
    m = compute_mia_metrics(scores, member, n_bootstrap=0)
    assert m.auc.value == pytest.approx(_mann_whitney_auc(scores, member), abs=1e-12)


def test_all_scores_equal() -> None:
    member = np.r_[np.ones(30, bool), np.zeros(30, bool)]
    m = compute_mia_metrics(np.full(60, 0.7), member, n_bootstrap=30)
    assert m.auc.value == 0.5
    assert m.auc.ci_low == 0.5 and m.auc.ci_high == 0.5
    assert m.tpr_at_fpr["0%"].value == 0.0
    assert m.tpr_at_fpr["10%"].value == 0.0
    assert m.advantage.value == 0.0
    assert m.precision_at_prior["1%"].precision["10%"] is None  # nobody is ever flagged


def test_orientation_is_not_flipped() -> None:
    scores, member = _gaussian_scores(300, 1.0, seed=2)
    up = compute_mia_metrics(scores, member, n_bootstrap=0)
    down = compute_mia_metrics(-scores, member, n_bootstrap=0)
    assert up.auc.value > 0.7
    assert down.auc.value == pytest.approx(1.0 - up.auc.value, abs=1e-12)
    assert down.tpr_at_fpr["1%"].value < 0.01 < up.tpr_at_fpr["1%"].value


def test_ci_contains_estimate_and_shrinks_with_more_data() -> None:
    small = compute_mia_metrics(*_gaussian_scores(150, 0.8, seed=4), n_bootstrap=200)
    large = compute_mia_metrics(*_gaussian_scores(3000, 0.8, seed=4), n_bootstrap=200)
    for m in (small, large):
        assert m.auc.lower <= m.auc.value <= m.auc.upper
        for key in ("10%", "1%"):
            e = m.tpr_at_fpr[key]
            assert e.lower <= e.value <= e.upper
    assert (large.auc.upper - large.auc.lower) < 0.5 * (small.auc.upper - small.auc.lower)
    t_small, t_large = small.tpr_at_fpr["10%"], large.tpr_at_fpr["10%"]
    assert (t_large.upper - t_large.lower) < 0.5 * (t_small.upper - t_small.lower)
    # Both estimate the same population AUC (Phi(0.8 / sqrt 2) = 0.714).
    assert large.auc.lower < 0.714 < large.auc.upper


def test_bootstrap_is_seeded() -> None:
    scores, member = _gaussian_scores(200, 0.5, seed=5)
    a = compute_mia_metrics(scores, member, n_bootstrap=50, seed=11)
    b = compute_mia_metrics(scores, member, n_bootstrap=50, seed=11)
    c = compute_mia_metrics(scores, member, n_bootstrap=50, seed=12)
    assert a == b
    assert a.auc.ci_low != c.auc.ci_low


def test_count_statistics_agree_with_sklearn_on_resamples() -> None:
    """The vectorised bootstrap statistics equal sklearn's on the materialised resamples."""
    rng = np.random.default_rng(8)
    member = np.r_[np.ones(80, bool), np.zeros(120, bool)]
    scores = np.round(rng.normal(0, 1, 200) + member * 0.7, 1)  # many ties
    levels, idx = np.unique(scores, return_inverse=True)
    k = levels.shape[0]

    c1, c0 = level_counts(idx, member, k)
    own = roc_statistics(c1[None], c0[None], (0.1, 0.0))
    assert own.auc[0] == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    exact = compute_mia_metrics(scores, member, n_bootstrap=0, fprs=(0.1, 0.0))
    assert own.tpr_at_fpr[:, 0] == pytest.approx(
        [exact.tpr_at_fpr["10%"].value, exact.tpr_at_fpr["0%"].value]
    )
    assert own.advantage[0] == pytest.approx(exact.advantage.value)

    b = 5
    pos = resampled_counts(idx[member], k, b, np.random.default_rng(0))
    neg = resampled_counts(idx[~member], k, b, np.random.default_rng(1))
    assert (pos.sum(axis=1) == 80).all() and (neg.sum(axis=1) == 120).all()
    stats = roc_statistics(pos, neg, (0.1,))
    for row in range(b):
        s = np.r_[np.repeat(levels, pos[row]), np.repeat(levels, neg[row])]
        y = np.r_[np.ones(80, bool), np.zeros(120, bool)]
        assert stats.auc[row] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        ref = compute_mia_metrics(s, y, n_bootstrap=0, fprs=(0.1,))
        assert stats.tpr_at_fpr[0, row] == pytest.approx(ref.tpr_at_fpr["10%"].value)


def test_precision_follows_ppv_formula() -> None:
    assert ppv(0.1, 0.5, 0.01) == pytest.approx(0.05 / (0.05 + 0.009))
    assert ppv(0.5, 0.3, 0.0) == 1.0
    assert ppv(0.01, 0.0, 0.0) is None
    m = compute_mia_metrics(*_gaussian_scores(1500, 1.5, seed=6), n_bootstrap=0)
    for key, target in (("1%", 0.01), ("0.1%", 0.001)):
        op = m.precision_at_prior[key]
        assert op.target_fpr == target and op.fpr <= target
        assert op.tpr == m.tpr_at_fpr[key].value
        for prior_key, p in (("1%", 0.01), ("10%", 0.1), ("50%", 0.5)):
            expected = p * op.tpr / (p * op.tpr + (1 - p) * op.fpr)
            assert op.precision[prior_key] == pytest.approx(expected)
    # A rarer membership prior means lower precision at the same operating point.
    pr = m.precision_at_prior["1%"].precision
    assert pr["1%"] < pr["10%"] < pr["50%"]


def test_downsampled_roc_is_log_spaced_and_monotone() -> None:
    m = compute_mia_metrics(*_gaussian_scores(500, 1.0, seed=9), n_bootstrap=0, roc_points=50)
    fpr, tpr = np.array(m.roc.fpr), np.array(m.roc.tpr)
    assert fpr[0] == pytest.approx(1 / 500) and fpr[-1] == pytest.approx(1.0)
    assert len(fpr) == 50
    assert np.allclose(np.diff(np.log(fpr)), np.log(500) / 49)
    assert (np.diff(tpr) >= 0).all() and tpr[-1] == 1.0
    assert tpr[np.searchsorted(fpr, 0.1)] >= m.tpr_at_fpr["10%"].value - 1e-12


def test_metrics_json_roundtrip() -> None:
    m = compute_mia_metrics(*_gaussian_scores(100, 1.0, seed=1), n_bootstrap=20)
    again = MiaMetrics.model_validate_json(m.model_dump_json())
    assert again == m


@pytest.mark.parametrize(
    ("scores", "member", "field"),
    [
        (np.zeros(3), np.array([1, 0]), "is_member"),
        (np.array([0.1, 0.2, 0.3]), np.array([1, 1, 1]), "is_member"),
        (np.array([0.1, np.nan, 0.3]), np.array([1, 0, 1]), "scores"),
        (np.array([0.1, np.inf, 0.3]), np.array([1, 0, 1]), "scores"),
        (np.zeros((2, 2)), np.zeros((2, 2)), "scores"),
        (np.array([0.1, 0.2]), np.array([2, 0]), "is_member"),
    ],
)
def test_invalid_inputs(scores: np.ndarray, member: np.ndarray, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        compute_mia_metrics(scores, member)
    assert err.value.field == field
    assert "nan" not in str(err.value).lower()


def test_invalid_options() -> None:
    s, m = np.array([0.1, 0.9]), np.array([0, 1])
    with pytest.raises(InvalidArgument, match="fprs"):
        compute_mia_metrics(s, m, fprs=(1.5,))
    with pytest.raises(InvalidArgument, match="priors"):
        compute_mia_metrics(s, m, priors=(0.0,))
    with pytest.raises(InvalidArgument, match="n_bootstrap"):
        compute_mia_metrics(s, m, n_bootstrap=-1)


# --------------------------------------------------------------------------- risk levels


def _crafted(
    auc_low: float, tpr1_low: float, tpr01_low: float, *, tpr01: float | None = None,
    fpr01: float = 0.001, n0: int = 5000,
) -> MiaMetrics:
    def est(low: float) -> Estimate:
        return Estimate(value=low + 0.01, ci_low=low, ci_high=low + 0.02)

    t01 = tpr01 if tpr01 is not None else tpr01_low + 0.01
    t1 = tpr1_low + 0.01
    return MiaMetrics(
        n_members=n0, n_nonmembers=n0, confidence=0.95, n_bootstrap=200,
        auc=est(auc_low),
        tpr_at_fpr={"10%": est(0.2), "1%": est(tpr1_low), "0.1%": est(tpr01_low),
                    "0%": est(0.0)},
        advantage=est(0.1), balanced_accuracy=0.55,
        precision_at_prior={
            "1%": OperatingPoint(target_fpr=0.01, tpr=t1, fpr=0.01,
                                 precision={"10%": ppv(0.1, t1, 0.01)}),
            "0.1%": OperatingPoint(target_fpr=0.001, tpr=t01, fpr=fpr01,
                                   precision={"10%": ppv(0.1, t01, fpr01)}),
        },
        roc=RocCurve(fpr=[1 / n0, 1.0], tpr=[0.0, 1.0]),
    )


@pytest.mark.parametrize(
    ("auc_low", "tpr1_low", "tpr01_low", "level"),
    [
        (0.50, 0.005, 0.0005, "low"),
        (0.549, 0.019, 0.009, "low"),
        (0.56, 0.005, 0.0, "medium"),
        (0.50, 0.021, 0.0, "medium"),
        (0.71, 0.01, 0.0, "high"),
        (0.52, 0.051, 0.0, "high"),
        (0.52, 0.01, 0.011, "high"),
        (0.52, 0.01, 0.101, "critical"),
    ],
)
def test_risk_levels(auc_low: float, tpr1_low: float, tpr01_low: float, level: str) -> None:
    assert risk_level(_crafted(auc_low, tpr1_low, tpr01_low)) == level


def test_risk_level_needs_low_fpr_points() -> None:
    m = _crafted(0.6, 0.03, 0.0).model_copy(update={"tpr_at_fpr": {"10%": Estimate(value=0.3)}})
    with pytest.raises(InvalidArgument, match="tpr_at_fpr"):
        risk_level(m)


def test_plain_summary_quotes_low_fpr_point() -> None:
    m = _crafted(0.75, 0.06, 0.02, tpr01=0.037, fpr01=0.001)
    text = plain_summary(m, 10_000, "with API access to probabilities")
    assert text.startswith("An attacker with API access to probabilities can pick out about 37 of "
                           "every 1,000 training records while falsely accusing only 1 in 1,000 "
                           "non-members.")
    assert "about 370 people" in text
    assert f"about {ppv(0.1, 0.037, 0.001):.0%} of its accusations" in text
    assert "Risk level: high." in text


def test_plain_summary_zero_false_positives_and_low_risk() -> None:
    m = _crafted(0.75, 0.2, 0.15, tpr01=0.2, fpr01=0.0)
    text = plain_summary(m, 0, "with the model's weights")
    assert "200 of every 1,000" in text and "without falsely accusing any of the 5,000" in text
    assert "critical" in text
    low = plain_summary(_crafted(0.48, 0.0, 0.0), 1000, "with API access to labels")
    assert "could not reliably tell" in low and "Risk level: low." in low


# --------------------------------------------------------------------------- synthetic risk


def _wilson_bounds(k: int, n: int, z: float) -> tuple[float, float]:
    """Textbook Wilson bounds (independent of the implementation's centre/half-width form)."""
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_synthetic_risk_matches_anonymeter_method() -> None:
    z = 1.959963984540054
    a_lo, a_hi = _wilson_bounds(150, 500, z)
    c_lo, c_hi = _wilson_bounds(50, 500, z)
    a, da = (a_lo + a_hi) / 2, (a_hi - a_lo) / 2
    c, dc = (c_lo + c_hi) / 2, (c_hi - c_lo) / 2
    value = (a - c) / (1 - c)
    err = math.sqrt((da / (1 - c)) ** 2 + (dc * (a - 1) / (1 - c) ** 2) ** 2)
    r = synthetic_risk(0.3, 0.1, 500)
    assert r.value == pytest.approx(value, abs=1e-12)
    assert r.ci_low == pytest.approx(value - err, abs=1e-12)
    assert r.ci_high == pytest.approx(value + err, abs=1e-12)
    assert r.value == pytest.approx((0.3 - 0.1) / 0.9, abs=0.01)


def test_synthetic_risk_limits() -> None:
    big = synthetic_risk(0.3, 0.1, 1_000_000)
    assert big.value == pytest.approx(2 / 9, abs=1e-4)
    small = synthetic_risk(0.3, 0.1, 200)
    assert (big.upper - big.lower) < 0.1 * (small.upper - small.lower)
    none = synthetic_risk(0.2, 0.2, 400)
    assert none.ci_low == 0.0 and none.value == pytest.approx(0.0, abs=1e-12)
    negative = synthetic_risk(0.1, 0.4, 400)  # control more attackable: clipped to 0
    assert negative.value == 0.0 and negative.ci_high == 0.0
    with pytest.raises(InvalidArgument):
        synthetic_risk(1.2, 0.1, 100)
    with pytest.raises(InvalidArgument):
        synthetic_risk(0.2, 0.1, 0)


# --------------------------------------------------------------------------- image metrics


def _naive_ssim(x: np.ndarray, y: np.ndarray, size: int, data_range: float = 1.0) -> float:
    """Window-by-window SSIM of one 2-D channel, written straight from Wang et al. (2004)."""
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(x.shape[0] - size + 1):
        for j in range(x.shape[1] - size + 1):
            px, py = x[i:i + size, j:j + size], y[i:i + size, j:j + size]
            mx, my = (w * px).sum(), (w * py).sum()
            vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
            cxy = (w * (px - mx) * (py - my)).sum()
            vals.append(((2 * mx * my + c1) * (2 * cxy + c2))
                        / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_psnr_known_values() -> None:
    a = np.zeros((3, 8, 8))
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert psnr(a, a + 25.5, data_range=255.0) == pytest.approx(20.0)
    batch = np.stack([a, a + 0.1, a + 0.01])
    values = psnr(batch, np.zeros_like(batch))
    assert isinstance(values, np.ndarray)
    assert values.shape == (3,)
    assert values.tolist() == [math.inf, pytest.approx(20.0), pytest.approx(40.0)]
    assert psnr(torch.zeros(1, 4, 4), torch.full((1, 4, 4), 0.1)) == pytest.approx(20.0)


def test_ssim_identities_and_constant_images() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 16, 16))
    assert np.allclose(ssim(x, x), 1.0)
    a, b = np.full((1, 12, 12), 0.2), np.full((1, 12, 12), 0.4)
    c1 = 0.01**2
    assert ssim(a, b) == pytest.approx((2 * 0.2 * 0.4 + c1) / (0.2**2 + 0.4**2 + c1))


def test_ssim_matches_window_by_window_reference() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((2, 13, 14))
    y = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
    expected = np.mean([_naive_ssim(x[c], y[c], 11) for c in range(2)])
    assert ssim(x, y) == pytest.approx(expected, abs=1e-10)
    assert ssim(y, x) == pytest.approx(ssim(x, y), abs=1e-12)
    # A 7x7 image crops the largest odd window that fits (the filter reflects at the border).
    s7, t7 = x[0, :7, :7], y[0, :7, :7]
    assert ssim(s7, s7) == pytest.approx(1.0)
    assert -1.0 < ssim(s7, t7) < ssim(s7, np.clip(s7 + 0.01, 0, 1)) <= 1.0
    assert ssim(x[0], y[0], data_range=2.0) == pytest.approx(
        _naive_ssim(x[0], y[0], 11, data_range=2.0), abs=1e-10
    )


def test_ssim_decreases_with_noise() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((1, 20, 20))
    noisy = [x + rng.normal(0, s, x.shape) for s in (0.05, 0.2, 0.5)]
    values = [ssim(x, n) for n in noisy]
    assert values[0] > values[1] > values[2]
    with pytest.raises(InvalidArgument):
        ssim(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(InvalidArgument):
        ssim(np.zeros((3, 8, 8)), np.zeros((3, 8, 9)))


def test_label_accuracy() -> None:
    assert label_accuracy([1, 2, 3, 4], np.array([1, 2, 0, 4])) == 0.75
    assert label_accuracy(torch.tensor([5]), [5]) == 1.0
    with pytest.raises(InvalidArgument):
        label_accuracy([1, 2], [1])
