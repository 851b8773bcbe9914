"""Reading a user's data file into a table of strings (CSV, Parquet) or arrays (``.npz``).

Nothing is unpickled: ``.npz`` members are read with ``allow_pickle=False`` after the archive's
declared sizes are checked (a zip bomb is refused before anything is decompressed).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leakrange.common.errors import InvalidArgument
from leakrange.imports.limits import ImportLimits, checked_file

TABLE_SUFFIXES = (".csv", ".parquet")
ARRAY_SUFFIXES = (".npz",)
ACCEPTED = ".csv, .parquet or .npz"


@dataclass(frozen=True, eq=False)
class ArrayFile:
    """``x`` (records first), ``y`` (integer labels), optional ``ids`` and ``member`` arrays."""

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray | None
    member: np.ndarray | None


def read_data_file(path: Path, limits: ImportLimits) -> pd.DataFrame | ArrayFile:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES + ARRAY_SUFFIXES:
        raise InvalidArgument(path.name, f"unsupported data file; accepted: {ACCEPTED}")
    checked_file(path, limits, "data")
    if suffix == ".npz":
        return _read_npz(path, limits)
    table = _read_csv(path) if suffix == ".csv" else _read_parquet(path)
    if len(table) == 0:
        raise InvalidArgument(path.name, "no records")
    if len(table) > limits.max_rows:
        raise InvalidArgument(path.name, f"more than {limits.max_rows} records")
    duplicated = table.columns[table.columns.duplicated()]
    if len(duplicated):
        raise InvalidArgument(f"{path.name}: column {duplicated[0]}", "appears twice")
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        raise InvalidArgument(path.name, "not a readable CSV file (UTF-8, header row)") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InvalidArgument(
            path.name, "reading Parquet needs pyarrow: pip install 'leakpro-range[import]'"
        ) from None
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError):
        raise InvalidArgument(path.name, "not a readable Parquet file") from None
    return table.astype(str).where(table.notna(), "")


def _read_npz(path: Path, limits: ImportLimits) -> ArrayFile:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise InvalidArgument(path.name, "not a readable .npz archive") from None
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise InvalidArgument(path.name, "archive expands beyond the import limit of "
                                         f"{limits.max_unpacked_bytes} bytes")
    names = {Path(info.filename).stem for info in infos}
    unknown = names - {"x", "y", "ids", "member"}
    if unknown or not {"x", "y"} <= names:
        raise InvalidArgument(path.name, "expected arrays x and y (and optionally ids, member)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in names}
    except (ValueError, OSError, zipfile.BadZipFile):
        raise InvalidArgument(path.name, "arrays must be plain numeric (no objects)") from None
    return ArrayFile(arrays["x"], arrays["y"], arrays.get("ids"), arrays.get("member"))
