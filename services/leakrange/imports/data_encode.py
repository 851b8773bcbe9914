"""Checking and encoding an imported table or array file into model input.

Every problem is reported with the file, the (1-based) record and the column it is in, and
never with the offending value. Row 1 is the first record (the line after a CSV header).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakrange.common.errors import InvalidArgument
from leakrange.imports.data_files import ArrayFile
from leakrange.imports.data_schema import DataSchema

_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


@dataclass(frozen=True, eq=False)
class EncodedData:
    x: np.ndarray  # float32 (n, *input_shape)
    y: np.ndarray  # int64 (n,)
    ids: list[str]
    member: np.ndarray | None  # bool (n,) from a member column
    class_names: list[str]
    feature_names: list[str] | None
    kind: str  # tabular | image


def _where(file: str, row: int | None, column: str) -> str:
    return f"{file}: row {row}, column {column}" if row is not None else \
        f"{file}: column {column}"


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def encode_table(table: pd.DataFrame, schema: DataSchema, file: str) -> EncodedData:
    columns = list(table.columns)
    special = {c for c in (schema.label, schema.id, schema.member) if c is not None}
    for column in sorted(special | (schema.declared_features() or set())):
        if column not in columns:
            raise InvalidArgument(_where(file, None, column), "missing (the schema names it)")
    declared = schema.declared_features()
    features = [c for c in columns if c not in special]
    if declared is not None:
        extra = [c for c in features if c not in declared]
        if extra:
            raise InvalidArgument(_where(file, None, extra[0]), "not in the schema")
    if not features:
        raise InvalidArgument(file, "no feature columns")
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in features:
        values = table[column].to_numpy(dtype=str)
        if column in schema.categorical:
            cats = schema.categorical[column]
            index = {c: i for i, c in enumerate(cats)}
            codes = np.array([index.get(v, -1) for v in values])
            if (codes < 0).any():
                raise InvalidArgument(_where(file, _first(codes < 0), column),
                                      "category not listed in the schema")
            blocks.append(np.eye(len(cats), dtype=np.float32)[codes])
            names += [f"{column}={c}" for c in cats]
        else:
            number = _numbers(values, file, column)
            if column in schema.standardise:
                stats = schema.standardise[column]
                number = (number - stats.mean) / stats.std
            blocks.append(number[:, None].astype(np.float32))
            names.append(column)
    x = np.concatenate(blocks, axis=1)
    y, class_names = _labels(table[schema.label].to_numpy(dtype=str), schema, file)
    ids = _ids(table, schema, file)
    member = _flags(table[schema.member].to_numpy(dtype=str), file, schema.member) \
        if schema.member else None
    return EncodedData(x, y, ids, member, class_names, names, "tabular")


def _numbers(values: np.ndarray, file: str, column: str) -> np.ndarray:
    blank = np.char.strip(values.astype(str)) == ""
    lowered = np.char.lower(values.astype(str))
    nan = blank | np.isin(lowered, ["nan", "na", "null", "none"])
    if nan.any():
        raise InvalidArgument(_where(file, _first(nan), column), "missing value (NaN)")
    number = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(number)
    if bad.any():
        raise InvalidArgument(_where(file, _first(bad), column), "not a number")
    if not np.isfinite(number).all():
        raise InvalidArgument(_where(file, _first(~np.isfinite(number)), column),
                              "not a finite number")
    return number


def _labels(values: np.ndarray, schema: DataSchema, file: str) -> tuple[np.ndarray, list[str]]:
    blank = np.char.strip(values.astype(str)) == ""
    if blank.any():
        raise InvalidArgument(_where(file, _first(blank), schema.label), "missing label")
    if schema.classes is not None:
        classes = list(schema.classes)
    else:
        unique = sorted(set(values.tolist()))
        numeric = all(u.lstrip("-").isdigit() for u in unique)
        classes = sorted(unique, key=int) if numeric else unique
        if len(classes) < 2:
            raise InvalidArgument(_where(file, None, schema.label), "needs at least 2 classes")
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index.get(v, -1) for v in values], dtype=np.int64)
    if (y < 0).any():
        raise InvalidArgument(_where(file, _first(y < 0), schema.label),
                              "not one of the schema's classes")
    return y, classes


def _ids(table: pd.DataFrame, schema: DataSchema, file: str) -> list[str]:
    if schema.id is None:
        return [str(i) for i in range(1, len(table) + 1)]
    ids = table[schema.id].to_numpy(dtype=str)
    return check_ids(ids, file, schema.id)


def check_ids(ids: np.ndarray, file: str, column: str) -> list[str]:
    text = [str(v).strip() for v in ids.tolist()]
    blank = np.array([t == "" for t in text])
    if blank.any():
        raise InvalidArgument(_where(file, _first(blank), column), "missing id")
    seen: dict[str, int] = {}
    for row, value in enumerate(text, start=1):
        if value in seen:
            raise InvalidArgument(_where(file, row, column),
                                  f"duplicate id (first at row {seen[value]})")
        seen[value] = row
    return text


def _flags(values: np.ndarray, file: str, column: str) -> np.ndarray:
    lowered = np.char.lower(np.char.strip(values.astype(str)))
    is_true = np.isin(lowered, list(_TRUE))
    bad = ~(is_true | np.isin(lowered, list(_FALSE)))
    if bad.any():
        raise InvalidArgument(_where(file, _first(bad), column), "not a boolean (true/false)")
    return is_true


def encode_arrays(arrays: ArrayFile, file: str, limits_rows: int) -> EncodedData:
    x, y = arrays.x, arrays.y
    if x.dtype.kind not in "fiu" or x.ndim < 2:
        raise InvalidArgument(f"{file}: x", "must be a numeric array with records first")
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise InvalidArgument(f"{file}: y", "must be a 1-D integer array")
    if len(x) != len(y) or len(x) == 0:
        raise InvalidArgument(f"{file}: y", "must have one label per record of x")
    if len(x) > limits_rows:
        raise InvalidArgument(file, f"more than {limits_rows} records")
    x = x.astype(np.float32)
    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if not finite.all():
        raise InvalidArgument(f"{file}: x, row {_first(~finite)}", "NaN or infinite value")
    if y.min() < 0:
        raise InvalidArgument(f"{file}: y, row {_first(y < 0)}", "labels must be >= 0")
    num_classes = max(int(y.max()) + 1, 2)
    ids = check_ids(arrays.ids, file, "ids") if arrays.ids is not None else \
        [str(i) for i in range(1, len(x) + 1)]
    if arrays.ids is not None and len(ids) != len(x):
        raise InvalidArgument(f"{file}: ids", "must have one id per record of x")
    member = None
    if arrays.member is not None:
        if arrays.member.dtype != np.bool_ or arrays.member.shape != (len(x),):
            raise InvalidArgument(f"{file}: member", "must be a boolean array, one per record")
        member = arrays.member
    kind = "image" if x.ndim in (3, 4) else "tabular"
    names = None if kind == "image" or x.ndim != 2 else [f"x{i}" for i in range(x.shape[1])]
    return EncodedData(x, y.astype(np.int64), ids, member,
                       [str(c) for c in range(num_classes)], names, kind)
