"""``FolderStore``: the artifact store in a local folder.

Layout::

    <root>/blobs/sha256/ab/abcdef...            blob bytes
    <root>/blobs/sha256/ab/abcdef....meta.json  {"media_type": ..., "size": ...}
    <root>/blobs/sha256/.incoming/              files being streamed in (name unknown yet)
    <root>/manifests/<name>.json                named JSON documents

Every write goes to a temporary file in the destination's folder (same file system), is
fsync'ed, then ``os.replace``'d into place, and the folder is fsync'ed: readers see the old
or the new file, never a partial one, and concurrent writers (threads or processes) of the same
blob both succeed because they write identical bytes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from leakrange.artifacts.media_types import MEDIA_OCTET_STREAM
from leakrange.artifacts.ref import is_sha256_hex
from leakrange.artifacts.store import (
    CHUNK_SIZE,
    ArtifactStore,
    Readable,
    blob_not_found,
    manifest_not_found,
)
from leakrange.common.errors import InvalidArgument, ResourceExhausted

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _full_is_exhausted() -> Iterator[None]:
    """A full disk or quota is "artifact store is full", not an internal error."""
    try:
        yield
    except OSError as err:
        if err.errno in _FULL_ERRNOS:
            raise ResourceExhausted("artifact store is full") from err
        raise


def _make_dirs(folder: Path) -> None:
    """``mkdir -p`` with every folder it creates owner-only (``parents=True`` would give the
    intermediate folders the umask's mode)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=DIR_MODE)

# Owner-only whatever the umask: the store holds ground truth.
FILE_MODE = 0o600
DIR_MODE = 0o700
# A temporary file in .incoming untouched this long belongs to a writer that was killed.
STALE_TMP_SECONDS = 3600.0
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_TMP_PREFIX = "."
_TMP_SUFFIX = ".tmp"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new content."""
    with _full_is_exhausted():
        _atomic_write(path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    _make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class FolderStore(ArtifactStore):
    """Artifact store in a folder; created on first use."""

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).expanduser().absolute()
        self._blobs = self._root / "blobs" / "sha256"
        self._incoming = self._blobs / ".incoming"
        self._manifests = self._root / "manifests"
        try:
            for folder in (self._incoming, self._manifests):
                _make_dirs(folder)
        except OSError as err:
            raise InvalidArgument("store", "cannot create the store folder") from err
        self.remove_stale_incoming()

    def remove_stale_incoming(self, older_than_s: float = STALE_TMP_SECONDS) -> int:
        """Delete temporary files of killed writers from ``.incoming``; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for tmp in self._incoming.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
        if removed:
            log.info("removed stale temporary files from the store", extra={"count": removed})
        return removed

    @property
    def root(self) -> Path:
        return self._root

    def blob_path(self, sha: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it is stored)."""
        if not is_sha256_hex(sha):
            raise InvalidArgument("sha256", "expected 64 lower-case hex digits")
        return self._blobs / sha[:2] / sha

    def _meta_path(self, sha: str) -> Path:
        return self._blobs / sha[:2] / f"{sha}.meta.json"

    def _manifest_path(self, name: str) -> Path:
        return self._manifests / f"{name}.json"

    def describe(self) -> str:
        return f"folder {self._root}"

    # blobs

    def _write_meta(self, sha: str, size: int, media_type: str) -> None:
        meta = {"media_type": media_type, "size": size}
        atomic_write(self._meta_path(sha), json.dumps(meta, sort_keys=True).encode("utf-8"))

    def _store_bytes(self, sha: str, data: bytes, media_type: str) -> None:
        blob = self.blob_path(sha)
        if self._blob_intact(sha):
            if not self._meta_path(sha).is_file():
                self._write_meta(sha, len(data), media_type)
            return
        # Metadata first: a crash in between leaves metadata without a blob, which reads as
        # "absent" and is rewritten by the next put.
        self._write_meta(sha, len(data), media_type)
        atomic_write(blob, data)

    def _store_file(self, path: Path, media_type: str) -> tuple[str, int]:
        with _full_is_exhausted():
            return self._stream_in(path, media_type)

    def _stream_in(self, path: Path, media_type: str) -> tuple[str, int]:
        fd, tmp_name = tempfile.mkstemp(
            dir=self._incoming, prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX
        )
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out, path.open("rb") as source:
                while chunk := source.read(CHUNK_SIZE):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fchmod(out.fileno(), FILE_MODE)
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            blob = self.blob_path(sha)
            if self._blob_intact(sha):
                if not self._meta_path(sha).is_file():
                    self._write_meta(sha, size, media_type)
                return sha, size
            self._write_meta(sha, size, media_type)
            _make_dirs(blob.parent)
            tmp.replace(blob)
            _fsync_dir(blob.parent)
            return sha, size
        finally:
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _open_blob(self, sha: str) -> Iterator[Readable]:
        try:
            handle = self.blob_path(sha).open("rb")
        except FileNotFoundError as err:
            raise blob_not_found(sha) from err
        with handle:
            yield handle

    def _has_blob(self, sha: str) -> bool:
        return self.blob_path(sha).is_file()

    def _blob_info(self, sha: str) -> tuple[int, str]:
        try:
            size = self.blob_path(sha).stat().st_size
        except FileNotFoundError as err:
            raise blob_not_found(sha) from err
        try:
            meta = json.loads(self._meta_path(sha).read_bytes())
            return int(meta["size"]), str(meta["media_type"])
        except (OSError, ValueError, KeyError, TypeError):
            return size, MEDIA_OCTET_STREAM

    # manifests

    def _write_manifest(self, name: str, data: bytes) -> None:
        atomic_write(self._manifest_path(name), data)

    def _read_manifest(self, name: str) -> bytes:
        try:
            return self._manifest_path(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise manifest_not_found(name) from err

    def _list_manifests(self, prefix: str) -> Iterator[str]:
        start = self._manifests / prefix.rpartition("/")[0]
        if not start.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(start):
            folder = Path(dirpath)
            for filename in filenames:
                if filename.endswith(".json"):
                    relative = (folder / filename).relative_to(self._manifests).as_posix()
                    yield relative[: -len(".json")]

    def _delete_manifest(self, name: str) -> None:
        try:
            self._manifest_path(name).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise manifest_not_found(name) from err
