"""``open_store(url)``: a store from a URL.

- ``/abs/path``, ``relative/path`` or ``file:///abs/path`` -> ``FolderStore``
- ``s3://bucket[/prefix]?endpoint=host:port&secure=false&region=r`` -> ``S3Store``. Without
  ``endpoint`` it is AWS (``s3.amazonaws.com``, secure by default). Credentials come from the
  ``credentials=(access_key, secret_key)`` argument, else ``LEAKRANGE_S3_ACCESS_KEY`` /
  ``LEAKRANGE_S3_SECRET_KEY``, else ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``; never
  from the URL. Error messages never repeat the URL (it may carry secrets by mistake).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from leakrange.artifacts.folder_store import FolderStore
from leakrange.artifacts.s3_store import S3Store
from leakrange.artifacts.store import ArtifactStore
from leakrange.common.errors import InvalidArgument

AWS_ENDPOINT = "s3.amazonaws.com"
ENV_ACCESS_KEYS = ("LEAKRANGE_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
ENV_SECRET_KEYS = ("LEAKRANGE_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
_S3_OPTIONS = frozenset({"endpoint", "secure", "region"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _bad(problem: str) -> InvalidArgument:
    return InvalidArgument("store", problem)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _bad("secure must be true or false")


def _credentials_from_env(env: Mapping[str, str]) -> tuple[str, str]:
    for access_name, secret_name in zip(ENV_ACCESS_KEYS, ENV_SECRET_KEYS, strict=True):
        access, secret = env.get(access_name, ""), env.get(secret_name, "")
        if access and secret:
            return access, secret
    raise _bad(
        "S3 credentials missing: set LEAKRANGE_S3_ACCESS_KEY and LEAKRANGE_S3_SECRET_KEY"
    )


def _open_s3(
    url: str, credentials: tuple[str, str] | None, env: Mapping[str, str]
) -> S3Store:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise _bad("credentials must not be in the URL; use LEAKRANGE_S3_* variables")
    if parts.fragment:
        raise _bad("URL must not have a fragment")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as err:
        raise _bad("malformed query string") from err
    unknown = sorted(set(query) - _S3_OPTIONS)
    if unknown:
        raise _bad(f"unknown option {unknown[0]!r}; known: endpoint, secure, region")
    if any(len(values) != 1 for values in query.values()):
        raise _bad("each option may be given once")
    options = {key: values[0] for key, values in query.items()}
    endpoint = options.get("endpoint", AWS_ENDPOINT)
    secure = _parse_bool(options["secure"]) if "secure" in options else "endpoint" not in options
    region = options.get("region") or None
    bucket = parts.netloc
    if not bucket:
        raise _bad("s3 URL needs a bucket: s3://bucket[/prefix]")
    prefix = unquote(parts.path).strip("/")
    if credentials is not None:
        access_key, secret_key = credentials
        if not access_key or not secret_key:
            raise _bad("credentials must be a non-empty (access key, secret key) pair")
    else:
        access_key, secret_key = _credentials_from_env(env)
    return S3Store(
        endpoint=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
        prefix=prefix,
        secure=secure,
        region=region,
    )


def _open_folder_url(url: str) -> FolderStore:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise _bad("file URL must be file:///absolute/path")
    if parts.query or parts.fragment:
        raise _bad("file URL takes no query or fragment")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise _bad("file URL must be file:///absolute/path")
    return FolderStore(Path(path))


def open_store(
    url: str,
    *,
    credentials: tuple[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ArtifactStore:
    """Open the store ``url`` names. ``env`` defaults to the process environment."""
    text = url.strip()
    if not text:
        raise _bad("empty store URL")
    scheme, sep, _rest = text.partition("://")
    if not sep:
        if text.startswith(("s3:", "file:")):
            raise _bad("URL must be scheme://...")
        return FolderStore(Path(text))
    scheme = scheme.lower()
    if scheme == "file":
        return _open_folder_url(text)
    if scheme == "s3":
        return _open_s3(text, credentials, os.environ if env is None else env)
    raise _bad("unsupported scheme; use a path, file:///path or s3://bucket")
