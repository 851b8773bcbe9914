"""Reproducible encoding of a table: sorted one-hot categories, standardised numbers, float32.

The encoder is fitted once on the real table and can then encode any other table with the same
columns (e.g. a synthetic one) exactly the same way: a category the fit never saw encodes as all
zeros in that column's block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakrange.common.errors import InvalidArgument


@dataclass(frozen=True)
class TableSchema:
    """Which columns a table has and how to turn a row into (features, label)."""

    target: str
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    class_names: tuple[str, ...]
    label_of: Callable[[pd.Series], np.ndarray]
    """Maps the target column to int64 labels in ``range(len(class_names))``."""


@dataclass(frozen=True)
class TableEncoder:
    """A fitted encoding: category lists (sorted) and numeric means / standard deviations."""

    schema: TableSchema
    categories: tuple[tuple[str, tuple[str, ...]], ...]
    numeric_stats: tuple[tuple[str, float, float], ...]

    @classmethod
    def fit(cls, table: pd.DataFrame, schema: TableSchema) -> TableEncoder:
        _require_columns(table, (*schema.categorical, *schema.numeric))
        categories = tuple(
            (col, tuple(sorted(table[col].astype(str).unique()))) for col in schema.categorical
        )
        stats = []
        for col in schema.numeric:
            values = table[col].to_numpy(dtype=np.float64)
            std = float(values.std())
            stats.append((col, float(values.mean()), std if std > 0 else 1.0))
        return cls(schema=schema, categories=categories, numeric_stats=tuple(stats))

    @property
    def feature_names(self) -> list[str]:
        names = [name for name, _, _ in self.numeric_stats]
        for col, values in self.categories:
            names.extend(f"{col}={value}" for value in values)
        return names

    def features(self, table: pd.DataFrame) -> np.ndarray:
        """Encode the feature columns: numeric block first, then one block per categorical."""
        _require_columns(table, (*self.schema.categorical, *self.schema.numeric))
        blocks = [
            ((table[col].to_numpy(dtype=np.float64) - mean) / std)[:, None]
            for col, mean, std in self.numeric_stats
        ]
        for col, values in self.categories:
            codes = pd.Categorical(table[col].astype(str), categories=list(values)).codes
            onehot = np.zeros((len(table), len(values)), dtype=np.float64)
            known = codes >= 0
            onehot[np.nonzero(known)[0], codes[known]] = 1.0
            blocks.append(onehot)
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)

    def labels(self, table: pd.DataFrame) -> np.ndarray:
        _require_columns(table, (self.schema.target,))
        return np.asarray(self.schema.label_of(table[self.schema.target]), dtype=np.int64)


def _require_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [col for col in columns if col not in table.columns]
    if missing:
        raise InvalidArgument("table", f"missing columns {', '.join(missing)}")
