"""``S3Store``: the artifact store in an S3 bucket (MinIO in production), via the ``minio`` client.

Layout under ``<bucket>/<prefix>/``::

    blobs/sha256/ab/abcdef...   blob bytes; the object's Content-Type is the media type
    manifests/<name>.json       named JSON documents

An S3 PUT (single or multipart) replaces an object atomically, so readers see the old or the new
object, never a partial one; concurrent writers of the same blob write identical bytes. Every
read is verified against the sha256 in the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import MinioException, S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

from leakrange.artifacts.manifest_names import validate_manifest_prefix
from leakrange.artifacts.media_types import MEDIA_JSON, MEDIA_OCTET_STREAM
from leakrange.artifacts.ref import is_sha256_hex
from leakrange.artifacts.store import (
    ArtifactStore,
    Readable,
    blob_not_found,
    hash_file,
    manifest_not_found,
)
from leakrange.common.errors import (
    IntegrityError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)

_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "ResourceNotFound", "NoSuchObject"})
_DENIED_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)
_FULL_CODES = frozenset(
    {"XMinioStorageFull", "StorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded"}
)
# Parts of a multipart upload whose writer was killed are aborted by the bucket after this.
STALE_UPLOAD_DAYS = 1
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENDPOINT = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _abort_stale_uploads() -> LifecycleConfig:
    """Bucket lifecycle: abort multipart uploads a killed writer left incomplete."""
    return LifecycleConfig([Rule(
        ENABLED, rule_filter=Filter(prefix=""), rule_id="leakrange-abort-stale-uploads",
        abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(STALE_UPLOAD_DAYS),
    )])


def validate_bucket(bucket: str) -> str:
    if _BUCKET_NAME.fullmatch(bucket) is None or ".." in bucket:
        raise InvalidArgument("store", "bucket name must be 3-63 of [a-z0-9.-]")
    return bucket


def validate_endpoint(endpoint: str) -> str:
    if _ENDPOINT.fullmatch(endpoint) is None:
        raise InvalidArgument("store", "endpoint must be host or host:port")
    return endpoint


def validate_prefix(prefix: str) -> str:
    try:
        return validate_manifest_prefix(prefix)
    except InvalidArgument as err:
        raise InvalidArgument("store", f"prefix {err.problem}") from err


class _HashingReader:
    """Wraps a binary file; hashes what is read through it."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class S3Store(ArtifactStore):
    """Artifact store in ``bucket`` under ``prefix``; the bucket is created if missing."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        prefix: str = "",
        secure: bool = False,
        region: str | None = None,
        *,
        max_retries: int = 3,
        timeout_s: float = 120.0,
    ) -> None:
        self._endpoint = validate_endpoint(endpoint)
        self._bucket = validate_bucket(bucket)
        self._prefix = validate_prefix(prefix.strip("/"))
        self._secure = secure
        self._base = f"{self._prefix}/" if self._prefix else ""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10.0, read=timeout_s),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=max_retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._ensure_bucket()

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def describe(self) -> str:
        scheme = "https" if self._secure else "http"
        location = f"{self._bucket}/{self._prefix}" if self._prefix else self._bucket
        return f"s3://{location} at {scheme}://{self._endpoint}"

    def blob_key(self, sha: str) -> str:
        """The object key of the blob with this sha256 (whether or not it is stored)."""
        if not is_sha256_hex(sha):
            raise InvalidArgument("sha256", "expected 64 lower-case hex digits")
        return f"{self._base}blobs/sha256/{sha[:2]}/{sha}"

    def _manifest_key(self, name: str) -> str:
        return f"{self._base}manifests/{name}.json"

    @contextlib.contextmanager
    def _s3_errors(self, missing: NotFound | None = None) -> Iterator[None]:
        """Translate client errors into domain errors with safe messages."""
        try:
            yield
        except S3Error as err:
            if missing is not None and err.code in _MISSING_CODES:
                raise missing from err
            if err.code == "NoSuchBucket":
                raise NotFound(f"bucket {self._bucket} not found") from err
            if err.code in _FULL_CODES:
                raise ResourceExhausted("artifact store is full") from err
            if err.code in _DENIED_CODES:
                raise PermissionDenied("artifact store refused the request") from err
            raise Unavailable(f"artifact store error ({err.code})") from err
        except (MinioException, urllib3.exceptions.HTTPError) as err:
            raise Unavailable("artifact store unreachable") from err

    def _ensure_bucket(self) -> None:
        with self._s3_errors():
            if self._client.bucket_exists(self._bucket):
                return
            try:
                self._client.make_bucket(self._bucket)
            except S3Error as err:
                if err.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
            self._client.set_bucket_lifecycle(self._bucket, _abort_stale_uploads())

    # blobs

    def _has_blob(self, sha: str) -> bool:
        try:
            with self._s3_errors(missing=blob_not_found(sha)):
                self._client.stat_object(self._bucket, self.blob_key(sha))
        except NotFound:
            return False
        return True

    def _store_bytes(self, sha: str, data: bytes, media_type: str) -> None:
        if self._blob_intact(sha):
            return
        with self._s3_errors():
            self._client.put_object(
                self._bucket, self.blob_key(sha), io.BytesIO(data), len(data),
                content_type=media_type,
            )

    def _store_file(self, path: Path, media_type: str) -> tuple[str, int]:
        sha, size = hash_file(path)
        if self._blob_intact(sha):
            return sha, size
        key = self.blob_key(sha)
        with path.open("rb") as handle:
            reader = _HashingReader(handle)
            with self._s3_errors():
                # Multipart (5 MiB+ parts) above the client's part size; streamed part by part.
                self._client.put_object(
                    self._bucket, key, cast(BinaryIO, reader), size, content_type=media_type
                )
        if reader.hexdigest() != sha:
            with self._s3_errors():
                self._client.remove_object(self._bucket, key)
            raise IntegrityError("file changed while being stored")
        return sha, size

    @contextlib.contextmanager
    def _open_blob(self, sha: str) -> Iterator[Readable]:
        with self._s3_errors(missing=blob_not_found(sha)):
            response = self._client.get_object(self._bucket, self.blob_key(sha))
        try:
            with self._s3_errors():
                yield response
        finally:
            response.close()
            response.release_conn()

    def _blob_info(self, sha: str) -> tuple[int, str]:
        with self._s3_errors(missing=blob_not_found(sha)):
            info = self._client.stat_object(self._bucket, self.blob_key(sha))
        return int(info.size or 0), info.content_type or MEDIA_OCTET_STREAM

    # manifests

    def _write_manifest(self, name: str, data: bytes) -> None:
        with self._s3_errors():
            self._client.put_object(
                self._bucket, self._manifest_key(name), io.BytesIO(data), len(data),
                content_type=MEDIA_JSON,
            )

    def _read_manifest(self, name: str) -> bytes:
        with self._s3_errors(missing=manifest_not_found(name)):
            response = self._client.get_object(self._bucket, self._manifest_key(name))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def _list_manifests(self, prefix: str) -> Iterator[str]:
        root = f"{self._base}manifests/"
        with self._s3_errors():
            for obj in self._client.list_objects(
                self._bucket, prefix=root + prefix, recursive=True
            ):
                key = obj.object_name or ""
                if key.endswith(".json"):
                    yield key[len(root) : -len(".json")]

    def _delete_manifest(self, name: str) -> None:
        key = self._manifest_key(name)
        with self._s3_errors(missing=manifest_not_found(name)):
            self._client.stat_object(self._bucket, key)
            self._client.remove_object(self._bucket, key)
