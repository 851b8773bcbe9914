"""Gradient and update inversion (leakrange.fl_attacks) on tiny models, CPU, seconds each.

Real signal: each attack is compared with a baseline that knows nothing of the client's
records (random images from the same search space, scored against the same records).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from leakrange.fl_attacks import (
    DLGParams,
    FedAvgParams,
    IGParams,
    Knowledge,
    LocalTraining,
    dlg,
    fedavg_inversion,
    fedavg_update,
    fedsgd_update,
    idlg,
    inverting_gradients,
)
from leakrange.fl_attacks.models import dlg_lenet
from leakrange.metrics.image_metrics import psnr as _psnr

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def smooth_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Pixel values in [0, 1]: a few random low-frequency waves per channel."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    out = torch.zeros(n, 3, size, size)
    for _ in range(3):
        f = torch.rand(n, 3, 2, 1, 1, generator=gen) * 3
        ph = torch.rand(n, 3, 1, 1, generator=gen) * 2 * math.pi
        out += torch.sin(2 * math.pi * (f[:, :, 0] * xx + f[:, :, 1] * yy) + ph)
    return (out / 6 + 0.5).clamp(0, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Per-record PSNR in dB of images in [0, 1]."""
    return np.atleast_1d(np.asarray(_psnr(a, b)))


def normalise(img: torch.Tensor) -> torch.Tensor:
    return (img - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def random_baseline(img: torch.Tensor, seed: int = 123) -> float:
    """Mean PSNR of uniformly random images against the true records."""
    gen = torch.Generator().manual_seed(seed)
    return float(psnr(torch.rand(img.shape, generator=gen), img).mean())


def tiny_convnet(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 5))


def knowledge(n: int, size: int, classes: int, labels: torch.Tensor | None = None
              ) -> Knowledge:
    return Knowledge(n, (3, size, size), classes, labels=labels, mean=MEAN, std=STD)


def unit(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)).clamp(
        0, 1)


def test_idlg_recovers_the_label_and_a_near_exact_image() -> None:
    torch.set_num_threads(1)
    model = dlg_lenet(channels=3, num_classes=10, image_size=12, seed=0)
    img = smooth_images(1, 12, seed=1)
    y = torch.tensor([7])
    update = fedsgd_update(model, normalise(img), y)
    rec = idlg(model, update, knowledge(1, 12, 10),
               DLGParams(iterations=1000, seed=0))
    assert rec.labels_recovered
    assert rec.labels is not None and rec.labels.tolist() == [7]
    quality = float(psnr(unit(rec.inputs), img).mean())
    assert quality > 40.0, quality
    assert quality > random_baseline(img) + 20.0


def test_dlg_jointly_recovers_label_and_image() -> None:
    torch.set_num_threads(1)
    model = dlg_lenet(channels=3, num_classes=10, image_size=12, seed=0)
    img = smooth_images(1, 12, seed=2)
    y = torch.tensor([2])
    update = fedsgd_update(model, normalise(img), y)
    rec = dlg(model, update, knowledge(1, 12, 10),
              DLGParams(iterations=600, restarts=2))
    assert rec.labels_recovered and rec.iterations <= 2 * 600
    assert rec.labels is not None and rec.labels.tolist() == [2]
    assert float(psnr(unit(rec.inputs), img).mean()) > random_baseline(img) + 10.0


def test_inverting_gradients_beats_a_random_image_baseline() -> None:
    torch.set_num_threads(1)
    model = tiny_convnet()
    img = smooth_images(2, 16, seed=3)
    y = torch.tensor([1, 4])
    update = fedsgd_update(model, normalise(img), y)
    rec = inverting_gradients(model, update, knowledge(2, 16, 5),
                              IGParams(iterations=300, restarts=2, tv_weight=0.05))
    assert rec.labels is not None and sorted(rec.labels.tolist()) == [1, 4]
    assert rec.restart_inputs.shape == (2, 2, 3, 16, 16)
    assert rec.restart_losses[rec.best_restart] == rec.restart_losses.min()
    # the labels are sorted, so is the batch; score each true record with its own label's row
    order = torch.argsort(y)
    quality = psnr(unit(rec.inputs), img[order])
    assert float(quality.mean()) > random_baseline(img) + 6.0, quality


def test_multi_step_fedavg_inversion_beats_a_random_image_baseline() -> None:
    torch.set_num_threads(1)
    model = tiny_convnet(seed=1)
    img = smooth_images(2, 16, seed=4)
    y = torch.tensor([0, 3])
    training = LocalTraining(epochs=2, batch_size=1, lr=0.05)
    update = fedavg_update(model, normalise(img), y, training)
    rec = fedavg_inversion(model, update, knowledge(2, 16, 5, labels=y),
                           FedAvgParams(iterations=300, tv_weight=0.05))
    assert not rec.labels_recovered
    quality = psnr(unit(rec.inputs), img)
    assert float(quality.mean()) > random_baseline(img) + 6.0, quality
    # the global model itself is left as it was
    assert all(not p.grad_fn for p in model.parameters())


def test_fedavg_update_leaves_the_model_untouched_and_matches_plain_sgd() -> None:
    model = tiny_convnet(seed=2)
    before = [p.detach().clone() for p in model.parameters()]
    img = normalise(smooth_images(3, 16, seed=5))
    y = torch.tensor([0, 1, 2])
    training = LocalTraining(epochs=2, batch_size=2, lr=0.1)
    update = fedavg_update(model, img, y, training)
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    copy = tiny_convnet(seed=2)
    opt = torch.optim.SGD(copy.parameters(), lr=0.1)
    for _ in range(2):
        for sl in (slice(0, 2), slice(2, 3)):
            opt.zero_grad()
            nn.functional.cross_entropy(copy(img[sl]), y[sl]).backward()
            opt.step()
    for (name, p0), p1 in zip(model.named_parameters(), copy.parameters(), strict=True):
        assert torch.allclose(update.delta[name], p1.detach() - p0.detach(), atol=1e-6)


@pytest.mark.parametrize("steps", [[slice(0, 2), slice(2, 3)] * 2])
def test_local_training_steps(steps: list[slice]) -> None:
    assert LocalTraining(epochs=2, batch_size=2, lr=0.1).steps(3) == steps
