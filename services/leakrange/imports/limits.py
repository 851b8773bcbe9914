"""Size limits every imported file is checked against before it is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leakrange.common.errors import InvalidArgument


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int = 1 << 30  # 1 GiB on disk
    max_unpacked_bytes: int = 4 << 30  # what an archive (.npz) may expand to
    max_rows: int = 10_000_000
    max_features: int = 1_000_000


def checked_file(path: Path, limits: ImportLimits, what: str) -> int:
    """The file's size after checking it exists, is a regular file and is within the limit."""
    if not path.is_file():
        raise InvalidArgument(path.name, f"{what} file not found")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise InvalidArgument(
            path.name, f"{what} file is larger than the import limit of "
                       f"{limits.max_file_bytes} bytes")
    if size == 0:
        raise InvalidArgument(path.name, f"{what} file is empty")
    return size
