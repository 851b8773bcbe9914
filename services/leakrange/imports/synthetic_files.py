"""Bring-your-own synthetic release: an original, a synthetic and a control table (and optional
reference records) a user generated elsewhere, as CSV or Parquet files.

Each file is read by the one import path (``data_files.read_data_file``: suffix, regular file,
size, row and duplicate-column limits); then the files are checked against each other: the same
columns, every cell within ``MAX_CELL_CHARS``, each column one type across all files. Column
types are inferred (numeric when every non-missing cell of every file is a number, else
categorical) and overridable (``schema.numeric`` / ``schema.categorical``); a column with
numbers and text mixed must be declared. Missing values (blank, NA, NaN, null, None): a
categorical column gets a ``<missing>`` category, a numeric one the original's median. Every
error names the file and the column (and the row), never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leakrange.common.errors import InvalidArgument
from leakrange.imports.data_files import TABLE_SUFFIXES, read_data_file
from leakrange.imports.limits import ImportLimits
from leakrange.synthetic.table import TableColumns

MAX_CELL_CHARS = 256
MAX_COLUMNS = 512
MISSING = "<missing>"
_MISSING_TEXT = frozenset({"", "na", "nan", "null", "none", "n/a"})
ROLES = ("original", "synthetic", "control", "reference")
_COLUMN = Field(min_length=1, max_length=128)


class ColumnTypes(BaseModel):
    """Overrides of the inferred column types; columns not listed are inferred."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    categorical: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS)
    ignore: list[str] = Field(default_factory=list, max_length=MAX_COLUMNS,
                              description="columns left out (record ids, free text)")

    @model_validator(mode="after")
    def _disjoint(self) -> ColumnTypes:
        sets = [set(self.numeric), set(self.categorical), set(self.ignore)]
        if sets[0] & sets[1] or (sets[0] | sets[1]) & sets[2]:
            raise ValueError("a column is listed twice among numeric, categorical, ignore")
        return self


@dataclass(frozen=True, eq=False)
class ReleaseTables:
    columns: TableColumns
    tables: dict[str, np.ndarray]  # by role; ``reference`` only when given
    missing: dict[str, int]  # missing cells per column, over all files


def _where(file: str, column: str, row: int | None = None) -> str:
    return f"{file}: row {row}, column {column}" if row is not None else f"{file}: column {column}"


def _read(path: Path, limits: ImportLimits) -> pd.DataFrame:
    if path.is_symlink():
        raise InvalidArgument(path.name, "a symbolic link; give the file itself")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InvalidArgument(path.name, "unsupported file; accepted: .csv or .parquet")
    table = read_data_file(path, limits)
    assert isinstance(table, pd.DataFrame)  # the suffix check above excludes .npz
    if table.shape[1] > MAX_COLUMNS:
        raise InvalidArgument(path.name, f"more than {MAX_COLUMNS} columns")
    return table.astype(str)


def _check_columns(frames: dict[str, pd.DataFrame], names: dict[str, str],
                   types: ColumnTypes) -> list[str]:
    first = next(iter(frames))
    order = [c for c in frames[first].columns if c not in types.ignore]
    for role, frame in frames.items():
        have = [c for c in frame.columns if c not in types.ignore]
        missing = [c for c in order if c not in have]
        if missing:
            raise InvalidArgument(_where(names[role], missing[0]),
                                  f"missing (it is a column of {names[first]})")
        extra = [c for c in have if c not in order]
        if extra:
            raise InvalidArgument(_where(names[role], extra[0]),
                                  f"not a column of {names[first]}")
    for column in [*types.numeric, *types.categorical]:
        if column not in order:
            raise InvalidArgument(f"schema: column {column}", f"not a column of {names[first]}")
    if len(order) < 2:
        raise InvalidArgument(names[first], "needs at least two columns")
    return order


def _missing(values: pd.Series) -> np.ndarray:
    return values.str.strip().str.lower().isin(_MISSING_TEXT).to_numpy()


def _infer(frames: dict[str, pd.DataFrame], names: dict[str, str], column: str,
           types: ColumnTypes) -> bool:
    """True when ``column`` is numeric; mixed numbers and text must be declared."""
    if column in types.categorical:
        return False
    text: tuple[str, int] | None = None
    numbers = 0
    for role, frame in frames.items():
        values = frame[column]
        present = ~_missing(values)
        parsed = pd.to_numeric(values.where(present), errors="coerce").to_numpy(np.float64)
        bad = present & ~np.isfinite(parsed)
        numbers += int((present & ~bad).sum())
        if bad.any() and text is None:
            text = (names[role], int(np.flatnonzero(bad)[0]) + 1)
    if text is None:
        if numbers == 0 and column in types.numeric:
            raise InvalidArgument(_where(next(iter(names.values())), column), "no values")
        return numbers > 0 or column in types.numeric
    if column in types.numeric or numbers > 0:
        how = "declared numeric" if column in types.numeric else "numbers elsewhere"
        raise InvalidArgument(_where(text[0], column, text[1]),
                              f"not a number ({how}; list the column in schema.categorical "
                              "to treat its values as categories)")
    return False


def _check_cells(frames: dict[str, pd.DataFrame], names: dict[str, str],
                 columns: list[str]) -> None:
    for role, frame in frames.items():
        for column in columns:
            long = frame[column].str.len().to_numpy() > MAX_CELL_CHARS
            if long.any():
                raise InvalidArgument(_where(names[role], column, int(np.flatnonzero(long)[0]) + 1),
                                      f"a cell longer than {MAX_CELL_CHARS} characters")


def read_release(paths: dict[str, Path], types: ColumnTypes,
                 limits: ImportLimits | None = None) -> ReleaseTables:
    """The files of a release (roles ``original``, ``synthetic``, ``control``, optionally
    ``reference``), checked against each other and encoded on shared columns."""
    limits = limits or ImportLimits()
    names = {role: path.name for role, path in paths.items()}
    frames = {role: _read(path, limits) for role, path in paths.items()}
    order = _check_columns(frames, names, types)
    _check_cells(frames, names, order)
    numeric = {c: _infer(frames, names, c, types) for c in order}
    categories: list[tuple[str, ...] | None] = []
    for column in order:
        if numeric[column]:
            categories.append(None)
            continue
        values = set()
        for frame in frames.values():
            cells = frame[column].str.strip()
            values |= set(np.where(_missing(frame[column]), MISSING, cells).tolist())
        categories.append(tuple(sorted(values)))
    columns = TableColumns(tuple(order), tuple(categories))
    missing = {c: int(sum(_missing(f[c]).sum() for f in frames.values())) for c in order}
    median = {c: float(np.nanmedian(pd.to_numeric(frames["original"][c].where(
        ~_missing(frames["original"][c])), errors="coerce").to_numpy(np.float64)))
        if numeric[c] and (~_missing(frames["original"][c])).any() else 0.0 for c in order}
    tables = {role: _encode(frame, columns, median) for role, frame in frames.items()}
    return ReleaseTables(columns, tables, missing)


def _encode(frame: pd.DataFrame, columns: TableColumns, median: dict[str, float]
            ) -> np.ndarray:
    out = np.empty((len(frame), len(columns.names)), dtype=np.float64)
    for j, (name, cats) in enumerate(zip(columns.names, columns.categories, strict=True)):
        gone = _missing(frame[name])
        if cats is None:
            values = pd.to_numeric(frame[name].where(~gone), errors="coerce")
            out[:, j] = np.where(gone, median[name], values.to_numpy(np.float64))
        else:
            cells = np.where(gone, MISSING, frame[name].str.strip())
            out[:, j] = pd.Categorical(cells, categories=list(cats)).codes
    return out


def release_paths(original: str, synthetic: str, control: str, reference: str | None
                  ) -> dict[str, Path]:
    paths = {"original": original, "synthetic": synthetic, "control": control}
    if reference is not None:
        paths["reference"] = reference
    for role, value in paths.items():
        if "\x00" in value:
            raise InvalidArgument(f"target.synthetic.{role}", "not a valid path")
    return {role: Path(value) for role, value in paths.items()}
