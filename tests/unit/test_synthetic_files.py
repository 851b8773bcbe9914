"""Bring-your-own synthetic release files: every bad file is refused with an error that names
the file and the column (and the row), never the offending value; good files are encoded on
shared columns with inferred, overridable types and missing values handled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leakrange.common.errors import InvalidArgument
from leakrange.imports.synthetic_files import (
    MAX_CELL_CHARS,
    MISSING,
    ColumnTypes,
    read_release,
    release_paths,
)

HEADER = "age,job,income\n"
ROWS = "".join(f"{20 + i},{'clerk' if i % 3 else 'nurse'},{'>50K' if i % 4 else '<=50K'}\n"
               for i in range(30))


def _files(tmp_path: Path, **override: str) -> dict[str, Path]:
    paths = {}
    for role in ("original", "synthetic", "control"):
        path = tmp_path / f"{role}.csv"
        path.write_text(override.get(role, HEADER + ROWS))
        paths[role] = path
    return paths


def _error(tmp_path: Path, types: ColumnTypes | None = None, **override: str) -> str:
    with pytest.raises(InvalidArgument) as err:
        read_release(_files(tmp_path, **override), types or ColumnTypes())
    return f"{err.value.field}: {err.value.problem}"


def test_good_files_are_encoded_with_inferred_types_and_missing_values(tmp_path) -> None:
    synthetic = HEADER + ROWS.replace("21,clerk", ",clerk", 1).replace("22,clerk", "22,", 1)
    release = read_release(_files(tmp_path, synthetic=synthetic), ColumnTypes())
    assert release.columns.names == ("age", "job", "income")
    assert release.columns.categories[0] is None  # numbers: numeric
    assert release.columns.categories[1] == (MISSING, "clerk", "nurse")
    syn = release.tables["synthetic"]
    assert syn[1, 0] == np.median(release.tables["original"][:, 0])  # median of the original
    assert release.missing == {"age": 1, "job": 1, "income": 0}
    forced = read_release(_files(tmp_path), ColumnTypes(categorical=["age"]))
    assert forced.columns.categories[0] is not None and len(forced.columns.categories[0]) == 30


def test_wrong_columns_name_the_file_and_the_column(tmp_path) -> None:
    text = _error(tmp_path, control="age,job\n" + "30,clerk\n" * 30)
    assert "control.csv: column income" in text and "missing" in text
    text = _error(tmp_path, synthetic="age,job,income,ssn\n" + "30,clerk,>50K,1\n" * 30)
    assert "synthetic.csv: column ssn" in text
    assert "schema: column zip" in _error(tmp_path, ColumnTypes(numeric=["zip"]))


def test_mixed_types_name_the_file_row_and_column(tmp_path) -> None:
    secret = "SECRET-VALUE"
    synthetic = HEADER + ROWS.replace("25,", f"{secret},", 1)
    text = _error(tmp_path, synthetic=synthetic)
    assert "synthetic.csv: row 6, column age" in text and "schema.categorical" in text
    assert secret not in text
    text = _error(tmp_path, ColumnTypes(numeric=["job"]))
    assert "original.csv: row 1, column job" in text and "declared numeric" in text


def test_empty_files_and_huge_cells_are_refused(tmp_path) -> None:
    assert "control.csv" in _error(tmp_path, control="")
    assert "original.csv" in _error(tmp_path, original=HEADER) and "no records" in \
        _error(tmp_path, original=HEADER)
    huge = "x" * (MAX_CELL_CHARS + 1)
    text = _error(tmp_path, synthetic=HEADER + ROWS + f"40,{huge},>50K\n")
    assert "synthetic.csv: row 31, column job" in text and huge not in text


def test_path_tricks_are_refused(tmp_path) -> None:
    paths = _files(tmp_path)
    link = tmp_path / "link.csv"
    link.symlink_to(paths["original"])
    with pytest.raises(InvalidArgument, match="symbolic link") as err:
        read_release({**paths, "original": link}, ColumnTypes())
    assert err.value.field == "link.csv"
    with pytest.raises(InvalidArgument, match="not found"):
        read_release({**paths, "control": tmp_path / ".." / "nowhere.csv"}, ColumnTypes())
    with pytest.raises(InvalidArgument, match="unsupported"):
        read_release({**paths, "control": Path("/etc/passwd")}, ColumnTypes())
    with pytest.raises(InvalidArgument, match="not a valid path"):
        release_paths("a.csv\x00.txt", "b.csv", "c.csv", None)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InvalidArgument, match="not found"):
        read_release({**paths, "synthetic": folder}, ColumnTypes())


def test_the_exercise_spec_refuses_bad_files_naming_the_file_and_column(tmp_path) -> None:
    """``target.synthetic`` with files: paths relative to the exercise file, checked when the
    spec is loaded (``leakrange validate`` / submit), before any work."""
    import yaml

    from leakrange.orchestrator.spec_loading import SpecError, load_spec, localise_spec_file

    _files(tmp_path, control="age,job\n" + "30,clerk\n" * 30)
    spec = tmp_path / "exercise.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "byo", "target": {"synthetic": {
            "original": "original.csv", "synthetic": "synthetic.csv", "control": "control.csv",
            "secret": "income", "targets": 10}},
        "adversaries": [{"family": "synthetic", "attacks": [{"name": "linkability"}]}]}))
    with pytest.raises(SpecError) as err:
        load_spec(localise_spec_file(spec))
    assert "control.csv: column income" in str(err.value)
    _files(tmp_path)
    loaded = load_spec(localise_spec_file(spec))
    assert loaded.target.synthetic.original == str(tmp_path / "original.csv")
