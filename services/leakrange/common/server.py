"""The one server factory every LeakPro Range service is built with.

``build_server`` binds the address (port 0 allowed: the bound port is returned), adds the
interceptors (metrics, optional bearer auth, error translation), standard health checking,
reflection, message-size limits and a Prometheus HTTP endpoint. ``RangeServer.serve_forever``
installs SIGTERM/SIGINT handling: health goes NOT_SERVING, the server keeps serving for
``drain_delay_seconds`` (so load balancers and the kubelet see NOT_SERVING before calls are
refused; a second signal ends the delay early), then new calls are refused, in-flight calls get
``grace_seconds`` to finish, and the process exits with code 0 (see EXIT_* below).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry, start_http_server

from leakrange.common.errors import InvalidArgument
from leakrange.common.interceptors import (
    AuthInterceptor,
    ErrorInterceptor,
    MetricsInterceptor,
    RequestMetrics,
)

log = logging.getLogger(__name__)

# Process exit codes of `leakrange serve ...`.
EXIT_OK = 0  # drained and stopped after SIGTERM/SIGINT
EXIT_ERROR = 1  # failed to start or crashed
EXIT_USAGE = 2  # bad flags / settings

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer and how to add it: ``add(servicer, server)`` from the generated ``*_pb2_grpc``."""

    descriptor: Any  # google.protobuf.descriptor.ServiceDescriptor
    servicer: Any
    add: Callable[[Any, grpc.Server], None]

    @property
    def name(self) -> str:
        return str(self.descriptor.full_name)

    def methods(self) -> list[str]:
        return [f"/{self.name}/{m.name}" for m in self.descriptor.methods]


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0
    max_workers: int = 16
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # token -> principal. Empty: no auth.
    auth_tokens: Mapping[str, str] = field(default_factory=dict)
    # None: no metrics endpoint; 0: any free port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    grace_seconds: float = 10.0
    # Seconds to keep serving after health turns NOT_SERVING, before new calls are refused.
    drain_delay_seconds: float = 0.0
    # TLS: PEM certificate chain and private key files; both or neither (plaintext).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Mutual TLS: PEM CA bundle client certificates must chain to (requires tls_cert_file).
    tls_client_ca_file: str | None = None
    # A second, plaintext port that serves grpc.health.v1 only (the same health states): kubelet's
    # native gRPC probes cannot speak TLS. None: no such port; 0: any free port.
    health_port: int | None = None


class RangeServer:
    """A started-or-startable gRPC server with health, reflection and metrics."""

    def __init__(
        self,
        server: grpc.Server,
        port: int,
        health_servicer: health.HealthServicer,
        service_names: Sequence[str],
        registry: CollectorRegistry,
        options: ServerOptions,
        health_server: grpc.Server | None = None,
        health_port: int | None = None,
    ) -> None:
        self.server = server
        self.port = port
        self.health_server = health_server
        self.health_port = health_port
        self.health = health_servicer
        self.service_names = list(service_names)
        self.registry = registry
        self.options = options
        self.metrics_port: int | None = None
        self._metrics_http: Any = None
        self._stopped = threading.Event()
        self._drain_delay_over = threading.Event()
        self._on_drain: list[Callable[[], None]] = []

    @property
    def address(self) -> str:
        return f"{self.options.host}:{self.port}"

    def on_drain(self, callback: Callable[[], None]) -> None:
        """Register work to do when draining starts (e.g. cancel running attacks)."""
        self._on_drain.append(callback)

    def start(self) -> RangeServer:
        self.server.start()
        if self.health_server is not None:
            self.health_server.start()
        if self.options.metrics_port is not None:
            http, _thread = start_http_server(
                self.options.metrics_port, addr=self.options.metrics_host, registry=self.registry
            )
            self._metrics_http = http
            self.metrics_port = int(http.server_port)
        for name in ["", *self.service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"address": self.address, "metrics_port": self.metrics_port})
        return self

    @property
    def draining(self) -> bool:
        return self._stopped.is_set()

    def end_drain_delay(self) -> None:
        """Stop serving new calls now instead of at the end of the drain delay."""
        self._drain_delay_over.set()

    def stop(self, grace: float | None = None, drain_delay: float | None = None) -> None:
        """Drain: NOT_SERVING, keep serving for ``drain_delay`` seconds (default: the
        options'), then refuse new calls and give in-flight calls ``grace`` seconds."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.options.grace_seconds if grace is None else grace
        delay = self.options.drain_delay_seconds if drain_delay is None else drain_delay
        self.health.enter_graceful_shutdown()
        if delay > 0:
            log.info("NOT_SERVING; still serving during the drain delay",
                     extra={"address": self.address, "drain_delay_s": delay})
            self._drain_delay_over.wait(delay)
        for callback in self._on_drain:
            try:
                callback()
            except Exception:
                log.exception("drain callback failed")
        self.server.stop(grace).wait()
        if self.health_server is not None:
            self.health_server.stop(0).wait()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
        log.info("stopped", extra={"address": self.address})

    def serve_forever(self) -> int:
        """Block until SIGTERM/SIGINT, then drain; returns the process exit code."""
        def handle(signum: int, _frame: Any) -> None:
            if self._stopped.is_set():  # a second signal: no more waiting for load balancers
                log.info("second signal, ending the drain delay", extra={"signal": signum})
                self.end_drain_delay()
                return
            log.info("signal received, draining", extra={"signal": signum})
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
        self._stopped.wait()
        self.server.wait_for_termination()
        return EXIT_OK


def server_credentials(options: ServerOptions) -> grpc.ServerCredentials | None:
    """TLS credentials from the options' PEM files, or None for plaintext.

    Raises ``InvalidArgument`` naming the option for an incomplete or unreadable setting (the
    file's contents never appear in the message)."""
    cert, key, ca = options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file
    if not cert and not key:
        if ca:
            raise InvalidArgument("tls_client_ca", "needs --tls-cert and --tls-key")
        return None
    if not cert or not key:
        raise InvalidArgument("tls_cert" if not cert else "tls_key",
                              "--tls-cert and --tls-key go together")
    pair = (read_pem(key, "tls_key"), read_pem(cert, "tls_cert"))
    if ca:
        return grpc.ssl_server_credentials([pair], root_certificates=read_pem(ca, "tls_client_ca"),
                                           require_client_auth=True)
    return grpc.ssl_server_credentials([pair])


def read_pem(path: str, option: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InvalidArgument(option, f"cannot read {path}: {err.strerror}") from None
    if b"-----BEGIN " not in data:
        raise InvalidArgument(option, f"{path} is not a PEM file")
    return data


def build_server(
    bindings: Sequence[ServiceBinding],
    options: ServerOptions | None = None,
    registry: CollectorRegistry | None = None,
) -> RangeServer:
    """Build (not start) a server for ``bindings``. Returns it with the bound port."""
    options = options or ServerOptions()
    registry = registry or CollectorRegistry()
    known = [m for b in bindings for m in b.methods()]
    interceptors: list[grpc.ServerInterceptor] = [
        MetricsInterceptor(RequestMetrics(registry), known)
    ]
    if options.auth_tokens:
        interceptors.append(AuthInterceptor(options.auth_tokens, known))
    interceptors.append(ErrorInterceptor())
    grpc_options = [
        ("grpc.max_receive_message_length", options.max_message_bytes),
        ("grpc.max_send_message_length", options.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="grpc"),
        interceptors=interceptors,
        options=grpc_options,
        maximum_concurrent_rpcs=None,
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in bindings:
        binding.add(binding.servicer, server)
    names = [b.name for b in bindings]
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    credentials = server_credentials(options)
    address = f"{options.host}:{options.port}"
    port = (server.add_secure_port(address, credentials) if credentials is not None
            else server.add_insecure_port(address))
    if port == 0:
        raise OSError(f"could not bind {options.host}:{options.port}")
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_server, health_port = _health_only_server(health_servicer, options)
    return RangeServer(server, port, health_servicer, names, registry, options,
                       health_server, health_port)


def _health_only_server(health_servicer: health.HealthServicer, options: ServerOptions
                        ) -> tuple[grpc.Server | None, int | None]:
    """The plaintext probe port: only grpc.health.v1 (Check/Watch of the same servicer), no
    other service, no reflection, no auth (health states are no secret). Kubelet's native gRPC
    probes cannot use TLS, so a TLS server gets this port for its probes."""
    if options.health_port is None:
        return None, None
    if options.health_port == options.port and options.port != 0:
        raise InvalidArgument("health_port", "must differ from --port")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="grpc-health"),
        options=[("grpc.max_receive_message_length", 4096), ("grpc.so_reuseport", 0)],
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(f"{options.host}:{options.health_port}")
    if port == 0:
        raise OSError(f"could not bind {options.host}:{options.health_port}")
    return server, port
