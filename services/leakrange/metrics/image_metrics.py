"""Reconstruction quality per record: PSNR, SSIM (Wang et al. 2004, computed by scikit-image)
and label accuracy.

Image arrays are ``[N, C, H, W]`` (a batch: one value per record, returned as an array of
shape [N]) or a single image ``[C, H, W]`` / ``[H, W]`` (returned as a float). Values are
expected in ``[0, data_range]``. numpy arrays and torch tensors are both accepted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from leakrange.common.errors import InvalidArgument

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def psnr(a: Any, b: Any, data_range: float = 1.0) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB, 10 log10(data_range^2 / MSE); +inf for identical images."""
    x, y, single = _pair(a, b)
    if not data_range > 0:
        raise InvalidArgument("data_range", "must be > 0")
    mse = ((x - y) ** 2).reshape(x.shape[0], -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10((data_range**2) / mse)
    return float(values[0]) if single else values


def ssim(a: Any, b: Any, data_range: float = 1.0) -> float | np.ndarray:
    """Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13(4), 2004), by
    scikit-image's ``structural_similarity`` with the paper's settings: an 11-tap Gaussian
    window with sigma 1.5, K1 = 0.01, K2 = 0.03, population (biased) variances, the SSIM map
    averaged over the window positions that fit inside the image, then over channels
    (``channel_axis``). Images smaller than 11 pixels crop the largest odd window that fits
    (at least 3x3 is needed); the Gaussian filter itself reflects at the border there.
    """
    from skimage.metrics import structural_similarity

    x, y, single = _pair(a, b)
    if not data_range > 0:
        raise InvalidArgument("data_range", "must be > 0")
    _, _, h, w = x.shape
    size = min(SSIM_WINDOW, h if h % 2 else h - 1, w if w % 2 else w - 1)
    if size < 3:
        raise InvalidArgument("images.shape", "height and width must be at least 3")
    values = np.array([
        structural_similarity(xi, yi, data_range=data_range, channel_axis=0, win_size=size,
                              gaussian_weights=True, sigma=SSIM_SIGMA, K1=SSIM_K1, K2=SSIM_K2,
                              use_sample_covariance=False)
        for xi, yi in zip(x, y, strict=True)
    ], dtype=np.float64)
    return float(values[0]) if single else values


def label_accuracy(predicted: Any, true: Any) -> float:
    """Fraction of records whose reconstructed label equals the true label."""
    p = _to_numpy(predicted).reshape(-1)
    t = _to_numpy(true).reshape(-1)
    if p.shape != t.shape:
        raise InvalidArgument("labels", "predicted and true labels differ in length")
    if p.size == 0:
        raise InvalidArgument("labels", "must not be empty")
    return float(np.mean(p == t))


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both images as float64 [N, C, H, W], and whether the input was a single image."""
    x = _to_numpy(a).astype(np.float64)
    y = _to_numpy(b).astype(np.float64)
    if x.shape != y.shape:
        raise InvalidArgument("images.shape", "the two images must have the same shape")
    if x.ndim not in (2, 3, 4) or x.size == 0:
        raise InvalidArgument("images.shape", "expected [N, C, H, W], [C, H, W] or [H, W]")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidArgument("images", "must be finite")
    single = x.ndim < 4
    while x.ndim < 4:
        x, y = x[None], y[None]
    return np.ascontiguousarray(x), np.ascontiguousarray(y), single
