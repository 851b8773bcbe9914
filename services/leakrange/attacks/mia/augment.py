"""Query augmentations for image records (LiRA, Carlini et al. 2022, Sec. VI-B; label-only)."""

from __future__ import annotations

import numpy as np

from leakrange.common.errors import InvalidArgument

# Deterministic order: identity first, then one-pixel shifts, then two-pixel shifts.
_SHIFTS = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1),
           (2, 0), (-2, 0), (0, 2), (0, -2)]


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate [n, C, H, W] images by (dy, dx) pixels, filling with zeros."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def augmentations(x: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` deterministic augmented copies of ``x`` (the first is ``x`` itself)."""
    if count < 1 or count > len(_SHIFTS):
        raise InvalidArgument("params.augmentations", f"must be between 1 and {len(_SHIFTS)}")
    if count > 1 and x.ndim != 4:
        raise InvalidArgument("params.augmentations", "augmentations need image data")
    return [x if (dy, dx) == (0, 0) else shift(x, dy, dx) for dy, dx in _SHIFTS[:count]]
