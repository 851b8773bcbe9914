"""Utility of a synthetic table beside its risk: per-column distribution similarity and
train-on-synthetic / test-on-real (TSTR) accuracy for the secret column.

Similarity per column is 1 - Kolmogorov-Smirnov statistic (numeric) or 1 - total variation
distance (categorical), both in [0, 1], 1 = identical marginals. TSTR trains a gradient-boosted
classifier on the synthetic table and tests it on the control table (real records the generator
never saw), beside the same model trained on the original (TRTR).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier

from leakrange.synthetic.table import TableColumns


def column_similarity(original: np.ndarray, synthetic: np.ndarray, columns: TableColumns
                      ) -> dict[str, float]:
    out: dict[str, float] = {}
    for j, (name, cats) in enumerate(zip(columns.names, columns.categories, strict=True)):
        if cats is None:
            out[name] = 1.0 - float(ks_2samp(original[:, j], synthetic[:, j]).statistic)
        else:
            k = len(cats)
            p = np.bincount(original[:, j].astype(np.int64), minlength=k) / len(original)
            q = np.bincount(synthetic[:, j].astype(np.int64), minlength=k) / len(synthetic)
            out[name] = 1.0 - 0.5 * float(np.abs(p - q).sum())
    return out


def _accuracy(train: np.ndarray, test: np.ndarray, secret: int, cat: np.ndarray, seed: int
              ) -> float:
    features = [j for j in range(train.shape[1]) if j != secret]
    model = HistGradientBoostingClassifier(max_iter=60, random_state=seed,
                                           categorical_features=cat[features])
    y = train[:, secret].astype(np.int64)
    if len(np.unique(y)) < 2:
        return float(np.mean(test[:, secret].astype(np.int64) == y[0]))
    model.fit(train[:, features], y)
    return float(np.mean(model.predict(test[:, features]) == test[:, secret].astype(np.int64)))


def utility_summary(original: np.ndarray, synthetic: np.ndarray, control: np.ndarray,
                    columns: TableColumns, secret: int, seed: int) -> dict[str, Any]:
    cat = columns.categorical
    similarity = column_similarity(original, synthetic, columns)
    return {
        "column_similarity": similarity,
        "mean_similarity": float(np.mean(list(similarity.values()))),
        "secret": columns.names[secret],
        "tstr_accuracy": _accuracy(synthetic, control, secret, cat, seed),
        "trtr_accuracy": _accuracy(original, control, secret, cat, seed),
    }
