"""Validation of manifest names (``models/adult-mlp``, ``cache/mia/<hash>``) and list prefixes."""

from __future__ import annotations

import re

from leakrange.common.errors import InvalidArgument

MAX_NAME_LENGTH = 512
_SEGMENT = r"[A-Za-z0-9._-]+"
_NAME = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
_PREFIX = re.compile(r"[A-Za-z0-9._/-]*")


def validate_manifest_name(name: str) -> str:
    """Return ``name`` if it is a safe manifest name, else raise ``InvalidArgument``.

    Allowed: segments of ``[A-Za-z0-9._-]`` joined by ``/``; no ``..``, no leading or trailing
    ``/``, no empty segment, no segment ``.``.
    """
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument("manifest", f"name must be 1 to {MAX_NAME_LENGTH} characters")
    if _NAME.fullmatch(name) is None:
        raise InvalidArgument(
            "manifest", "name must be segments of [A-Za-z0-9._-] joined by '/'"
        )
    if ".." in name or any(segment == "." for segment in name.split("/")):
        raise InvalidArgument("manifest", "name must not contain '..' or '.' segments")
    return name


def validate_manifest_prefix(prefix: str) -> str:
    """Return ``prefix`` if it could start a valid manifest name, else raise ``InvalidArgument``."""
    if len(prefix) > MAX_NAME_LENGTH or _PREFIX.fullmatch(prefix) is None:
        raise InvalidArgument("prefix", "must use only [A-Za-z0-9._/-]")
    if prefix.startswith("/") or ".." in prefix or "//" in prefix:
        raise InvalidArgument("prefix", "must not start with '/' or contain '..' or '//'")
    return prefix
