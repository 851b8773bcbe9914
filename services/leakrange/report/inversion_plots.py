"""Figures of the inversion sections: reconstructions beside the closest training member."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from leakrange.report.plots import _png_data_uri


def reconstruction_grid(recon: np.ndarray, nearest: np.ndarray, labels: np.ndarray) -> str:
    """Two rows: each reconstruction (top) and the closest training member of its class."""
    n = len(recon)
    fig = Figure(figsize=(max(2.0, 0.9 * n), 2.2))
    for i in range(n):
        for row, images in enumerate((recon, nearest)):
            ax = fig.add_subplot(2, n, row * n + i + 1)
            img = np.asarray(images[i], np.float64)
            img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
            ax.imshow(img, cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(str(int(labels[i])), fontsize=8)
    fig.text(0.0, 0.72, "rebuilt", fontsize=7, rotation=90)
    fig.text(0.0, 0.22, "closest", fontsize=7, rotation=90)
    return _png_data_uri(fig)
