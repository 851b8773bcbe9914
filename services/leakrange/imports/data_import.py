"""``leakrange import-data`` / ``target.data``: a user's data set into the store, by name.

Layout (range side only):
* the encoded records: a safetensors blob ``{x, y}`` (media ``MEDIA_TENSORS``) whose header
  names the data set, its classes, features and kind; stored by content hash;
* ``datasets/<name>``: a manifest pointing at that blob, with the record ids and the rows that
  trained the user's model (membership ground truth, when given).
Everything is checked before the first write: a refused import leaves the store unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from leakrange.artifacts import MEDIA_TENSORS, ArtifactRef, ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound
from leakrange.datasets.dataset import Dataset
from leakrange.imports.data_encode import EncodedData, encode_arrays, encode_table
from leakrange.imports.data_files import ArrayFile, read_data_file
from leakrange.imports.data_schema import DataSchema
from leakrange.imports.limits import ImportLimits, checked_file

DATASET_PREFIX = "datasets"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class DataImport:
    name: str
    file: Path
    schema: DataSchema
    members_file: Path | None = None


@dataclass(frozen=True)
class ImportedData:
    name: str
    ref: ArtifactRef
    rows: int
    members: int | None


def dataset_manifest(name: str) -> str:
    return f"{DATASET_PREFIX}/{name}"


def check_name(name: str) -> str:
    from leakrange.datasets.registry import list_datasets

    if not _NAME.match(name):
        raise InvalidArgument("name", "lower-case letters, digits, '.', '_' or '-' (<= 64)")
    if name in list_datasets():
        raise InvalidArgument("name", "is a built-in data set")
    return name


def import_data(store: ArtifactStore, request: DataImport,
                limits: ImportLimits | None = None) -> ImportedData:
    limits = limits or ImportLimits()
    name = check_name(request.name)
    encoded = read_and_encode(request, limits)
    members = _member_rows(encoded, request, limits)
    # Tensors only: safetensors writes header metadata in no fixed order, which would break the
    # content hash; what the records mean lives in the manifest.
    blob = save_arrays({"x": np.ascontiguousarray(encoded.x), "y": encoded.y})
    ref = store.put_bytes(blob, MEDIA_TENSORS)
    store.put_manifest(dataset_manifest(name), {
        "data": ref.uri, "rows": len(encoded.y), "ids": encoded.ids, "kind": encoded.kind,
        "class_names": encoded.class_names, "feature_names": encoded.feature_names,
        "members": None if members is None else members.tolist(),
    })
    return ImportedData(name, ref, len(encoded.y), None if members is None else len(members))


def read_and_encode(request: DataImport, limits: ImportLimits) -> EncodedData:
    if request.file.is_dir():  # one sub-folder per class (the schema's columns do not apply)
        from leakrange.imports.image_folder import read_image_folder

        encoded = read_image_folder(request.file, limits)
        _check_features(encoded, request, limits)
        return encoded
    content = read_data_file(request.file, limits)
    if isinstance(content, ArrayFile):
        encoded = encode_arrays(content, request.file.name, limits.max_rows)
    else:
        encoded = encode_table(content, request.schema, request.file.name)
    _check_features(encoded, request, limits)
    return encoded


def _check_features(encoded: EncodedData, request: DataImport, limits: ImportLimits) -> None:
    if int(np.prod(encoded.x.shape[1:])) > limits.max_features:
        raise InvalidArgument(request.file.name, f"more than {limits.max_features} features")


def _member_rows(encoded: EncodedData, request: DataImport,
                 limits: ImportLimits) -> np.ndarray | None:
    if request.members_file is not None and encoded.member is not None:
        raise InvalidArgument("members", "give a members file or a member column, not both")
    if request.members_file is not None:
        return member_rows_from_file(request.members_file, encoded.ids, limits)
    if encoded.member is not None:
        rows = np.flatnonzero(encoded.member).astype(np.int64)
        _check_members(rows, len(encoded.ids), request.file.name)
        return rows
    return None


def member_rows_from_file(path: Path, ids: list[str], limits: ImportLimits) -> np.ndarray:
    """Rows of the records a members file (one id per line) names; errors name the line."""
    checked_file(path, limits, "members")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InvalidArgument(path.name, "not a UTF-8 text file (one id per line)") from None
    index = {value: row for row, value in enumerate(ids)}
    rows: list[int] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        if value not in index:
            raise InvalidArgument(f"{path.name}: line {number}", "id not in the data set")
        if value in seen:
            raise InvalidArgument(f"{path.name}: line {number}", "duplicate id")
        seen.add(value)
        rows.append(index[value])
    result = np.sort(np.asarray(rows, dtype=np.int64))
    _check_members(result, len(ids), path.name)
    return result


def _check_members(rows: np.ndarray, total: int, where: str) -> None:
    if len(rows) == 0:
        raise InvalidArgument(where, "names no member records")
    if len(rows) >= total - 1:
        raise InvalidArgument(where, "leaves fewer than 2 non-member records")


def imported_names(store: ArtifactStore) -> list[str]:
    prefix = f"{DATASET_PREFIX}/"
    return sorted(n[len(prefix):] for n in store.list_manifests(prefix))


def imported_manifest(store: ArtifactStore, name: str) -> dict[str, object]:
    try:
        return store.get_manifest(dataset_manifest(name))
    except NotFound:
        raise NotFound("unknown data set (neither built in nor imported into this store)") \
            from None


def load_imported(store: ArtifactStore, name: str) -> Dataset:
    manifest = imported_manifest(store, name)
    blob = store.get_bytes(store.resolve(str(manifest["data"])))
    try:
        arrays = load_arrays(blob)
        class_names = [str(c) for c in manifest["class_names"]]  # type: ignore[attr-defined]
        features = manifest["feature_names"]
    except (SafetensorError, KeyError, TypeError) as err:
        raise IntegrityError("imported data set is corrupted") from err
    x, y = arrays["x"].astype(np.float32), arrays["y"].astype(np.int64)
    return Dataset(
        name=name, x=x, y=y, num_classes=len(class_names), class_names=class_names,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        feature_names=None if features is None else [str(f) for f in features],  # type: ignore[attr-defined]
        kind="image" if manifest.get("kind") == "image" else "tabular",
    )


def imported_members(store: ArtifactStore, name: str) -> tuple[np.ndarray | None, list[str]]:
    """The member rows kept with an imported data set (or ``None``) and its record ids."""
    manifest = imported_manifest(store, name)
    members = manifest.get("members")
    ids = manifest.get("ids")
    if not isinstance(ids, list):
        raise IntegrityError("imported data set manifest is corrupted")
    rows = None if members is None else np.asarray(members, dtype=np.int64)
    return rows, [str(i) for i in ids]
