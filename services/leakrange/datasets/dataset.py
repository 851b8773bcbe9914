"""The ``Dataset`` value every loader returns: features, labels and what they mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

DatasetKind = Literal["tabular", "image"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set. ``x`` is float32 with shape ``(n, *input_shape)``; ``y`` is int64."""

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    class_names: list[str]
    input_shape: tuple[int, ...]
    feature_names: list[str] | None
    kind: DatasetKind

    def __len__(self) -> int:
        return int(self.x.shape[0])
