"""Artifact store: content-addressed blobs and named manifests, in a folder or an S3 bucket."""

from leakrange.artifacts.folder_store import FolderStore
from leakrange.artifacts.media_types import (
    MEDIA_ENDPOINT,
    MEDIA_HTML,
    MEDIA_JSON,
    MEDIA_MODEL,
    MEDIA_OCTET_STREAM,
    MEDIA_ONNX,
    MEDIA_TENSORS,
)
from leakrange.artifacts.open_store import open_store
from leakrange.artifacts.ref import ArtifactRef, parse_ref
from leakrange.artifacts.s3_store import S3Store
from leakrange.artifacts.store import ArtifactStore

__all__ = [
    "MEDIA_ENDPOINT",
    "MEDIA_HTML",
    "MEDIA_JSON",
    "MEDIA_MODEL",
    "MEDIA_OCTET_STREAM",
    "MEDIA_ONNX",
    "MEDIA_TENSORS",
    "ArtifactRef",
    "ArtifactStore",
    "FolderStore",
    "S3Store",
    "open_store",
    "parse_ref",
]
