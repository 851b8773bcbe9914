"""``ArtifactRef``: the content address (sha256) of a stored blob, plus its size and media type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakrange.common.errors import InvalidArgument

if TYPE_CHECKING:  # the federation image (protobuf 6) uses the store without the stubs
    from leakrange.v1 import common_pb2

SHA256_PREFIX = "sha256:"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def is_sha256_hex(text: str) -> bool:
    """True for exactly 64 lower-case hex digits."""
    return _HEX64.fullmatch(text) is not None


def is_sha256_ref(text: str) -> bool:
    """True for ``sha256:`` and exactly 64 lower-case hex digits (a content address)."""
    return text.startswith(SHA256_PREFIX) and is_sha256_hex(text.removeprefix(SHA256_PREFIX))


def short(sha256: str) -> str:
    """The form used in messages: ``sha256:`` and the first 12 hex digits."""
    return f"{SHA256_PREFIX}{sha256[:12]}"


@dataclass(frozen=True)
class ArtifactRef:
    """A blob in the artifact store. ``name`` is set when it was reached through a manifest."""

    sha256: str
    size: int
    media_type: str
    name: str = ""

    def __post_init__(self) -> None:
        if not is_sha256_hex(self.sha256):
            raise InvalidArgument("artifact.sha256", "expected 64 lower-case hex digits")
        if self.size < 0:
            raise InvalidArgument("artifact.size", "must not be negative")

    @property
    def uri(self) -> str:
        return f"{SHA256_PREFIX}{self.sha256}"

    def to_proto(self) -> common_pb2.ArtifactRef:
        from leakrange.v1 import common_pb2

        return common_pb2.ArtifactRef(
            sha256=self.sha256, size=self.size, media_type=self.media_type, name=self.name
        )

    @classmethod
    def from_proto(cls, msg: common_pb2.ArtifactRef) -> ArtifactRef:
        return cls(sha256=msg.sha256, size=msg.size, media_type=msg.media_type, name=msg.name)


def parse_ref(text: str) -> str:
    """Validate ``sha256:<64 hex>`` and return the hex digest."""
    if not text.startswith(SHA256_PREFIX):
        raise InvalidArgument("ref", "expected sha256:<64 lower-case hex digits>")
    digest = text[len(SHA256_PREFIX) :]
    if not is_sha256_hex(digest):
        raise InvalidArgument("ref", "expected sha256:<64 lower-case hex digits>")
    return digest


def sha_of(ref_or_sha: ArtifactRef | str) -> str:
    """The hex digest of an ``ArtifactRef``, a ``sha256:<hex>`` string or a bare hex digest."""
    if isinstance(ref_or_sha, ArtifactRef):
        return ref_or_sha.sha256
    if is_sha256_hex(ref_or_sha):
        return ref_or_sha
    return parse_ref(ref_or_sha)
