"""``ArtifactStore``: content-addressed blobs plus named, mutable JSON manifests.

Blobs are addressed by the sha256 of their bytes, written atomically and idempotently, and
verified against that hash on every read. Manifests are small JSON documents under a name
(``models/adult-mlp``, ``cache/mia/<hash>``), replaced atomically. ``publish`` stores a blob and a
manifest pointing at it; ``resolve`` turns ``sha256:<hex>`` or a published name into a reference.

Backends (``FolderStore``, ``S3Store``) implement the small set of ``_`` primitives below; all
hashing, verification, validation and JSON handling lives here so both behave the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from leakrange.artifacts.manifest_names import validate_manifest_name, validate_manifest_prefix
from leakrange.artifacts.media_types import MEDIA_JSON
from leakrange.artifacts.ref import SHA256_PREFIX, ArtifactRef, parse_ref, sha_of, short
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound

CHUNK_SIZE = 1 << 20
PUBLISHED_KIND = "leakrange.artifact/v1"
MAX_MEDIA_TYPE_LENGTH = 255


class Readable(Protocol):
    def read(self, amt: int = ..., /) -> bytes: ...


def hash_file(path: Path) -> tuple[str, int]:
    """Stream ``path`` through sha256; return (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def encode_json(doc: Mapping[str, Any], field: str, *, pretty: bool) -> bytes:
    """Strict JSON (no NaN/Infinity), keys sorted so equal documents give equal bytes."""
    if not isinstance(doc, Mapping):
        raise InvalidArgument(field, "document must be a JSON object")
    try:
        if pretty:
            text = json.dumps(doc, sort_keys=True, indent=2, allow_nan=False)
        else:
            text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidArgument(field, "document is not JSON-serialisable") from err
    return text.encode("utf-8")


def _check_media_type(media_type: str) -> None:
    if (
        not media_type
        or len(media_type) > MAX_MEDIA_TYPE_LENGTH
        or "/" not in media_type
        or not media_type.isascii()
        or not media_type.isprintable()
    ):
        raise InvalidArgument("media_type", "expected a media type such as application/json")


def _verify(sha: str, digest: str) -> None:
    if digest != sha:
        raise IntegrityError(f"artifact {short(sha)} is corrupted")


class ArtifactStore(ABC):
    """One interface over every backend. Thread-safe; safe for concurrent writers."""

    # ------------------------------------------------------------------ blobs

    def put_bytes(self, data: bytes, media_type: str) -> ArtifactRef:
        """Store ``data`` under its sha256. Idempotent; a reader never sees a partial blob."""
        _check_media_type(media_type)
        sha = hashlib.sha256(data).hexdigest()
        self._store_bytes(sha, bytes(data), media_type)
        return ArtifactRef(sha256=sha, size=len(data), media_type=media_type)

    def put_file(self, path: Path | str, media_type: str) -> ArtifactRef:
        """Store a file's bytes, streaming them (never the whole file in memory)."""
        _check_media_type(media_type)
        source = Path(path)
        if not source.is_file():
            raise InvalidArgument("path", "not a readable file")
        sha, size = self._store_file(source, media_type)
        return ArtifactRef(sha256=sha, size=size, media_type=media_type)

    def get_bytes(self, ref_or_sha: ArtifactRef | str) -> bytes:
        """The blob's bytes, verified against its sha256 (``IntegrityError`` on mismatch)."""
        sha = sha_of(ref_or_sha)
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        with self._open_blob(sha) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
                chunks.append(chunk)
        _verify(sha, digest.hexdigest())
        return b"".join(chunks)

    def get_file(self, ref_or_sha: ArtifactRef | str, dest: Path | str) -> Path:
        """Stream the blob to ``dest`` (atomically; only after the sha256 checked out)."""
        sha = sha_of(ref_or_sha)
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, self._open_blob(sha) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            _verify(sha, digest.hexdigest())
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    def exists(self, ref_or_sha: ArtifactRef | str) -> bool:
        return self._has_blob(sha_of(ref_or_sha))

    def stat(self, ref_or_sha: ArtifactRef | str) -> ArtifactRef:
        """The reference (size, media type) of a stored blob, from its sha256 alone."""
        sha = sha_of(ref_or_sha)
        size, media_type = self._blob_info(sha)
        return ArtifactRef(sha256=sha, size=size, media_type=media_type)

    def put_json(self, doc: Mapping[str, Any]) -> ArtifactRef:
        """Store a JSON object as a blob (canonical bytes: equal documents share one blob)."""
        return self.put_bytes(encode_json(doc, "document", pretty=False), MEDIA_JSON)

    def get_json(self, ref_or_sha: ArtifactRef | str) -> dict[str, Any]:
        data = self.get_bytes(ref_or_sha)
        try:
            doc = json.loads(data)
        except ValueError as err:
            raise InvalidArgument("ref", "artifact is not JSON") from err
        if not isinstance(doc, dict):
            raise InvalidArgument("ref", "artifact is not a JSON object")
        return doc

    # -------------------------------------------------------------- manifests

    def put_manifest(self, name: str, doc: Mapping[str, Any]) -> None:
        """Create or atomically replace the JSON document ``name``."""
        validate_manifest_name(name)
        self._write_manifest(name, encode_json(doc, "manifest", pretty=True))

    def get_manifest(self, name: str) -> dict[str, Any]:
        validate_manifest_name(name)
        data = self._read_manifest(name)
        try:
            doc = json.loads(data)
        except ValueError as err:
            raise IntegrityError(f"manifest {name} is corrupted") from err
        if not isinstance(doc, dict):
            raise IntegrityError(f"manifest {name} is corrupted")
        return doc

    def list_manifests(self, prefix: str = "") -> list[str]:
        """Sorted names of the manifests starting with ``prefix`` (a plain string prefix)."""
        validate_manifest_prefix(prefix)
        return sorted(name for name in self._list_manifests(prefix) if name.startswith(prefix))

    def delete_manifest(self, name: str) -> None:
        """Delete ``name``; ``NotFound`` if there is no such manifest."""
        validate_manifest_name(name)
        self._delete_manifest(name)

    # ---------------------------------------------------------------- publish

    def publish(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        """Store ``data``, point the manifest ``name`` at it; return the ref with ``name`` set."""
        validate_manifest_name(name)
        return self._point(name, self.put_bytes(data, media_type))

    def publish_file(self, name: str, path: Path | str, media_type: str) -> ArtifactRef:
        """``publish`` for a file, streamed."""
        validate_manifest_name(name)
        return self._point(name, self.put_file(path, media_type))

    def resolve(self, text: str) -> ArtifactRef:
        """``sha256:<hex>`` (must be stored) or a name given to ``publish`` -> its reference."""
        if text.startswith(SHA256_PREFIX):
            return self.stat(parse_ref(text))
        doc = self.get_manifest(text)
        artifact = doc.get("artifact") if doc.get("kind") == PUBLISHED_KIND else None
        if not isinstance(artifact, dict):
            raise InvalidArgument("ref", "manifest is not a published artifact")
        try:
            return ArtifactRef(
                sha256=str(artifact["sha256"]),
                size=int(artifact["size"]),
                media_type=str(artifact["media_type"]),
                name=text,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise IntegrityError(f"manifest {text} is corrupted") from err

    def _point(self, name: str, ref: ArtifactRef) -> ArtifactRef:
        artifact = {"sha256": ref.sha256, "size": ref.size, "media_type": ref.media_type}
        self.put_manifest(name, {"kind": PUBLISHED_KIND, "artifact": artifact})
        return replace(ref, name=name)

    # -------------------------------------------------------------- describe

    @abstractmethod
    def describe(self) -> str:
        """Where the store lives, safe to log (never credentials)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    # ----------------------------------------------------- backend primitives

    def _blob_intact(self, sha: str) -> bool:
        """True when the blob is stored and its bytes hash to ``sha``. A put over a blob that
        is missing or corrupted (bit rot, a truncated copy) rewrites it: puts heal."""
        digest = hashlib.sha256()
        try:
            with self._open_blob(sha) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    digest.update(chunk)
        except NotFound:
            return False
        return digest.hexdigest() == sha

    @abstractmethod
    def _store_bytes(self, sha: str, data: bytes, media_type: str) -> None:
        """Atomically store ``data`` (whose sha256 is ``sha``); a no-op if already stored."""

    @abstractmethod
    def _store_file(self, path: Path, media_type: str) -> tuple[str, int]:
        """Atomically store the file's bytes, streaming; return (sha256 hex, size)."""

    @abstractmethod
    def _open_blob(self, sha: str) -> contextlib.AbstractContextManager[Readable]:
        """A readable stream of the stored bytes (unverified); ``NotFound`` if absent."""

    @abstractmethod
    def _has_blob(self, sha: str) -> bool: ...

    @abstractmethod
    def _blob_info(self, sha: str) -> tuple[int, str]:
        """(size, media type) of a stored blob; ``NotFound`` if absent."""

    @abstractmethod
    def _write_manifest(self, name: str, data: bytes) -> None: ...

    @abstractmethod
    def _read_manifest(self, name: str) -> bytes:
        """The manifest's bytes; ``NotFound`` if absent."""

    @abstractmethod
    def _list_manifests(self, prefix: str) -> Iterable[str]:
        """Names of manifests; may include names not starting with ``prefix``."""

    @abstractmethod
    def _delete_manifest(self, name: str) -> None:
        """Delete; ``NotFound`` if absent."""


def blob_not_found(sha: str) -> NotFound:
    return NotFound(f"artifact {short(sha)} not found")


def manifest_not_found(name: str) -> NotFound:
    return NotFound(f"manifest {name} not found")

