"""Error catalogue: domain errors and the gRPC status code + safe public message for each.

Every error a service raises on purpose is a ``RangeError`` subclass. Its message is public: it
names the offending field or resource but never carries data values. Anything else that escapes a
handler is translated to ``INTERNAL`` with a fixed message; the detail goes to the log only.
"""

from __future__ import annotations

import grpc


class RangeError(Exception):
    """Base of all domain errors. ``str(err)`` is the public message."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(RangeError):
    """Bad input. The message names the field, e.g. ``inputs.shape: expected [*, 108]``."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotFound(RangeError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RangeError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(RangeError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(RangeError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(RangeError):
    """E.g. a threat model the attack cannot run under."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(RangeError):
    """E.g. a spent query budget or an oversized payload."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Cancelled(RangeError):
    code = grpc.StatusCode.CANCELLED


class Unavailable(RangeError):
    """A dependency (target service, store) cannot be reached."""

    code = grpc.StatusCode.UNAVAILABLE


class IntegrityError(RangeError):
    """A stored object does not match its content hash."""

    code = grpc.StatusCode.DATA_LOSS


class MissingDependency(RangeError):
    """A package that must be installed is missing; the message gives the install command."""

    code = grpc.StatusCode.FAILED_PRECONDITION


INTERNAL_MESSAGE = "internal error (details are in the service log)"


def to_status(err: BaseException) -> tuple[grpc.StatusCode, str]:
    """Translate any exception to (status code, public message)."""
    if isinstance(err, RangeError):
        return err.code, err.message
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def from_rpc_error(err: grpc.RpcError) -> RangeError:
    """Turn a status received from another range service back into a domain error."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else ""
    mapping: dict[grpc.StatusCode, type[RangeError]] = {
        grpc.StatusCode.NOT_FOUND: NotFound,
        grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
        grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
        grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
        grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
        grpc.StatusCode.CANCELLED: Cancelled,
        grpc.StatusCode.UNAVAILABLE: Unavailable,
        grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
        grpc.StatusCode.DATA_LOSS: IntegrityError,
    }
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field, _, problem = (details or "request: invalid").partition(": ")
        return InvalidArgument(field, problem or "invalid")
    cls = mapping.get(code, RangeError)
    return cls(details or code.name.lower())
