"""A table as numbers: categorical columns as value codes, numeric columns as floats.

``TableColumns`` names the columns, their kinds and categorical value names; it travels to the
adversary as JSON (``AdversaryData.table_schema_json``) with the columns it knows about its
targets. Tables are stored as safetensors (never pickled).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from leakrange.common.errors import IntegrityError, InvalidArgument


@dataclass(frozen=True)
class TableColumns:
    names: tuple[str, ...]
    # Value names of each categorical column; ``None`` for a numeric column.
    categories: tuple[tuple[str, ...] | None, ...]

    @property
    def categorical(self) -> np.ndarray:
        return np.array([c is not None for c in self.categories], dtype=bool)

    def index(self, name: str, field: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise InvalidArgument(field, "not a column of the table") from None

    def to_doc(self) -> dict[str, Any]:
        return {"names": list(self.names),
                "categories": [list(c) if c is not None else None for c in self.categories]}

    @classmethod
    def from_doc(cls, doc: Any) -> TableColumns:
        try:
            names = tuple(str(n) for n in doc["names"])
            cats = tuple(tuple(str(v) for v in c) if c is not None else None
                         for c in doc["categories"])
        except (KeyError, TypeError):
            raise InvalidArgument("table_schema", "needs names and categories") from None
        if len(names) != len(cats):
            raise InvalidArgument("table_schema", "one category entry per column")
        return cls(names, cats)


def columns_of(table: pd.DataFrame, categorical: tuple[str, ...], numeric: tuple[str, ...]
               ) -> TableColumns:
    """The columns of ``table`` that are categorical or numeric, in table order; value names
    from the whole table (the data set's public domain)."""
    keep = [c for c in table.columns if c in categorical or c in numeric]
    cats = tuple(tuple(sorted(table[c].astype(str).str.strip().unique())) if c in categorical
                 else None for c in keep)
    return TableColumns(tuple(keep), cats)


def encode(table: pd.DataFrame, columns: TableColumns) -> np.ndarray:
    """rows x columns float64; categorical values as their index in ``columns.categories``."""
    out = np.empty((len(table), len(columns.names)), dtype=np.float64)
    for j, (name, cats) in enumerate(zip(columns.names, columns.categories, strict=True)):
        if cats is None:
            values = pd.to_numeric(table[name], errors="coerce").to_numpy(np.float64)
            fill = np.nanmedian(values) if np.isfinite(values).any() else 0.0
            out[:, j] = np.where(np.isfinite(values), values, fill)
        else:
            codes = pd.Categorical(table[name].astype(str).str.strip(), categories=list(cats))
            out[:, j] = np.asarray(codes.codes, dtype=np.float64)
            if (out[:, j] < 0).any():
                raise InvalidArgument(f"column {name}", "value outside its categories")
    return out


def table_bytes(table: np.ndarray) -> bytes:
    return save_tensors({"table": np.ascontiguousarray(table, dtype="<f8")})


def table_from_bytes(data: bytes) -> np.ndarray:
    try:
        return np.asarray(load_tensors(data)["table"], dtype=np.float64)
    except (KeyError, ValueError) as err:
        raise IntegrityError("stored table is corrupted") from err


def columns_json(columns: TableColumns, known: tuple[str, ...], secret: str,
                 link: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    """What the adversary is told about the table: columns, the targets' known columns (the
    audit records' ``x``), the secret one, and the two column sets of the linkage task."""
    return json.dumps({**columns.to_doc(), "known": list(known), "secret": secret,
                       "link_a": list(link[0]), "link_b": list(link[1])})
