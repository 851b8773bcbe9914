"""Server interceptors: metrics, bearer-token auth and error translation.

Each interceptor wraps the method handler's behaviour, so the wrapping also covers server
streaming. Order (outermost first): metrics -> auth -> errors.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from leakrange.common.errors import to_status

log = logging.getLogger(__name__)

# The authenticated principal of the current call (set by AuthInterceptor, read by servicers).
current_principal: contextvars.ContextVar[str] = contextvars.ContextVar(
    "leakrange_principal", default="anonymous"
)

# Methods every client (and the kubelet) may call without a token.
PUBLIC_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    }
)

Behavior = Callable[[Any, grpc.ServicerContext], Any]


def _wrap(handler: grpc.RpcMethodHandler | None, wrap: Callable[[Behavior, bool], Behavior]):
    """Return a copy of ``handler`` whose behaviour is ``wrap(behaviour, is_stream)``."""
    if handler is None:
        return None
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary, False),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, True),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary, False),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        wrap(handler.stream_stream, True),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _split(method: str) -> tuple[str, str]:
    _, service, name = method.split("/", 2) if method.count("/") >= 2 else ("", "", method)
    return service, name


class ErrorInterceptor(grpc.ServerInterceptor):
    """Domain errors -> their status code + public message; anything else -> INTERNAL."""

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method

        def wrap(behavior: Behavior, stream: bool) -> Behavior:
            def fail(err: BaseException, context: grpc.ServicerContext) -> None:
                code, message = to_status(err)
                if code == grpc.StatusCode.INTERNAL:
                    log.error("unhandled error", extra={"method": method}, exc_info=err)
                else:
                    log.info("request refused",
                             extra={"method": method, "code": code.name})
                context.abort(code, message)

            if stream:
                def stream_behavior(request: Any, context: grpc.ServicerContext) -> Iterator:
                    try:
                        yield from behavior(request, context)
                    except Exception as err:
                        if _already_aborted(context):
                            raise
                        fail(err, context)
                return stream_behavior

            def unary_behavior(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behavior(request, context)
                except Exception as err:
                    if _already_aborted(context):
                        raise
                    fail(err, context)
            return unary_behavior

        return _wrap(continuation(handler_call_details), wrap)


def _already_aborted(context: grpc.ServicerContext) -> bool:
    try:
        code = context.code()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return False
    return code is not None and code != grpc.StatusCode.OK


class AuthInterceptor(grpc.ServerInterceptor):
    """Bearer-token auth keyed by full method path.

    ``tokens`` maps token -> principal name. Health and reflection are public; a method that no
    bound service declares is refused with UNIMPLEMENTED (what clients expect of a method the
    server does not have) before any handler runs, token or not.
    """

    def __init__(self, tokens: Mapping[str, str], known_methods: Iterable[str]) -> None:
        self._tokens = dict(tokens)
        self._known = frozenset(known_methods)

    def _principal(self, metadata: Iterable[tuple[str, Any]]) -> str | None:
        for key, value in metadata or ():
            if key.lower() == "authorization":
                text = value.decode() if isinstance(value, bytes) else str(value)
                scheme, _, token = text.partition(" ")
                if scheme.lower() != "bearer":
                    return None
                for known, principal in self._tokens.items():
                    if hmac.compare_digest(known.encode(), token.strip().encode()):
                        return principal
        return None

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method in PUBLIC_METHODS:
            return continuation(handler_call_details)
        if method not in self._known:
            return _refuse(grpc.StatusCode.UNIMPLEMENTED, "method not implemented")
        principal = self._principal(handler_call_details.invocation_metadata)
        if principal is None:
            return _refuse(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")

        def wrap(behavior: Behavior, stream: bool) -> Behavior:
            if stream:
                def stream_behavior(request: Any, context: grpc.ServicerContext) -> Iterator:
                    token = current_principal.set(principal)
                    try:
                        yield from behavior(request, context)
                    finally:
                        current_principal.reset(token)
                return stream_behavior

            def unary_behavior(request: Any, context: grpc.ServicerContext) -> Any:
                token = current_principal.set(principal)
                try:
                    return behavior(request, context)
                finally:
                    current_principal.reset(token)
            return unary_behavior

        return _wrap(continuation(handler_call_details), wrap)


def _refuse(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def refuse(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(refuse)


class RequestMetrics:
    """Per-method request counts and latency histograms (labels: service, method, code)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "leakrange_grpc_requests_total", "gRPC requests handled",
            ["service", "method", "code"], registry=registry,
        )
        self.latency = Histogram(
            "leakrange_grpc_request_seconds", "gRPC request latency (stream: until last message)",
            ["service", "method"], registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600),
        )


# The one label value of every method no bound service declares: series never grow with the
# method names a client invents.
UNKNOWN_METHOD = "unknown"


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts and times every call; labels come from the bound services' own method names."""

    def __init__(self, metrics: RequestMetrics, known_methods: Iterable[str]) -> None:
        self._m = metrics
        self._known = frozenset(known_methods)

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method in PUBLIC_METHODS or method.startswith("/grpc."):
            return continuation(handler_call_details)
        if method in self._known:
            service, name = _split(method)
        else:
            service, name = UNKNOWN_METHOD, UNKNOWN_METHOD
        m = self._m

        def record(context: grpc.ServicerContext, started: float, failed: bool) -> None:
            code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
            try:
                set_code = context.code()  # type: ignore[attr-defined]
                if set_code is not None:
                    code = set_code
            except Exception:  # noqa: BLE001, S110
                pass
            m.requests.labels(service, name, code.name).inc()
            m.latency.labels(service, name).observe(time.perf_counter() - started)

        def wrap(behavior: Behavior, stream: bool) -> Behavior:
            if stream:
                def stream_behavior(request: Any, context: grpc.ServicerContext) -> Iterator:
                    started, failed = time.perf_counter(), False
                    try:
                        yield from behavior(request, context)
                    except BaseException:
                        failed = True
                        raise
                    finally:
                        record(context, started, failed)
                return stream_behavior

            def unary_behavior(request: Any, context: grpc.ServicerContext) -> Any:
                started, failed = time.perf_counter(), False
                try:
                    return behavior(request, context)
                except BaseException:
                    failed = True
                    raise
                finally:
                    record(context, started, failed)
            return unary_behavior

        return _wrap(continuation(handler_call_details), wrap)
