"""Figures of the federated section: each rebuilt record above its original, PSNR under it."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from leakrange.report.plots import _png_data_uri


def _image(x: np.ndarray) -> np.ndarray:
    img = np.asarray(x, np.float64)
    if img.ndim == 3:
        return img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    return img.reshape(1, -1)


def pair_grid(recon: np.ndarray, originals: np.ndarray, psnr_db: np.ndarray) -> str:
    """Two rows: rebuilt (top, PSNR in dB beneath) and the true record it was matched to."""
    n = len(recon)
    fig = Figure(figsize=(max(2.0, 0.9 * n), 2.4))
    for i in range(n):
        for row, images in enumerate((recon, originals)):
            ax = fig.add_subplot(2, n, row * n + i + 1)
            ax.imshow(np.clip(_image(images[i]), 0, 1), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                value = float(psnr_db[i])
                ax.set_xlabel("exact" if value >= 100 else f"{value:.1f} dB", fontsize=7)
    fig.text(0.0, 0.70, "rebuilt", fontsize=7, rotation=90)
    fig.text(0.0, 0.20, "original", fontsize=7, rotation=90)
    return _png_data_uri(fig)
