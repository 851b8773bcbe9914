"""Colour images in the federated family: CIFAR-10 samples (3x32x32 RGB) through the client
training, an inversion attack on the real Attack service, the range's scorer and the report's
image grid. Control: the same reconstructions scored against another client's image."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from leakrange.common.attack_info import RECORD_RECONSTRUCTION
from leakrange.metrics.image_metrics import ssim
from leakrange.scoring import AttackOutcome
from leakrange.scoring.record_reconstruction import RecordReconstructionScorer
from tests.fixtures.federated import run_federated, simulated_run


@pytest.fixture(scope="module")
def cifar_fedsgd():
    return simulated_run(dataset="cifar10-samples", clients=2, records_per_client=1,
                         batch_size=1, rounds=1, holdout=10, model="mlp-small")


def test_ssim_of_colour_images_is_the_mean_over_channels() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((2, 3, 32, 32))
    b = np.clip(a + rng.normal(0, [[[[0.02]], [[0.1]], [[0.3]]]], a.shape), 0, 1)
    per_channel = np.stack([ssim(a[:, c:c + 1], b[:, c:c + 1]) for c in range(3)], axis=1)
    np.testing.assert_allclose(ssim(a, b), per_channel.mean(axis=1), rtol=1e-12)
    assert per_channel[0, 0] > per_channel[0, 1] > per_channel[0, 2]  # noisier, lower
    np.testing.assert_allclose(ssim(a, a), 1.0)


def test_inverting_gradients_rebuilds_a_colour_image(federated_attack_stub, cifar_fedsgd,
                                                     range_store) -> None:
    out = run_federated(federated_attack_stub, cifar_fedsgd, "inverting_gradients",
                        {"iterations": 300, "restarts": 2, "clients": [0]})
    truth = out.view.truth_for(RECORD_RECONSTRUCTION)
    assert truth.input_shape == (3, 32, 32) and truth.is_image
    scorer = RecordReconstructionScorer()
    accepted = scorer.accept(out.result, truth, range_store, n_bootstrap=20, seed=0)
    head = dict(accepted.headline)
    n = len(truth.x)
    swapped = replace(truth, x=[truth.x[(k + 1) % n] for k in range(n)],
                      y=[truth.y[(k + 1) % n] for k in range(n)])
    control = dict(scorer.accept(out.result, swapped, range_store, n_bootstrap=20,
                                 seed=0).headline)
    assert head["median_psnr"].value > control["median_psnr"].value + 5.0
    evidence = scorer.evidence(range_store, accepted.artifact, truth)["evidence"]
    assert evidence["reconstructions"].shape == (1, 3, 32, 32)
    assert float(evidence["ssim"][0]) > 0.3  # colour SSIM, over all three channels

    report = scorer.attack_report(AttackOutcome(
        family="federated", attack="inverting_gradients", result_kind=RECORD_RECONSTRUCTION,
        evidence=evidence), n_bootstrap=20, seed=0)
    figure = report.findings["figure"]
    png = Image.open(io.BytesIO(base64.b64decode(figure.split(",", 1)[1]))).convert("RGB")
    pixels = np.asarray(png, np.int16)
    # the grid shows colour: somewhere red, green and blue differ (a grey map would not)
    assert int(np.abs(pixels[..., 0] - pixels[..., 2]).max()) > 40
