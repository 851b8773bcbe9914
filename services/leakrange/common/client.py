"""Client-side helpers: channels with message limits, TLS and bearer-token call credentials."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from leakrange.common.errors import InvalidArgument
from leakrange.common.server import DEFAULT_MAX_MESSAGE_BYTES, read_pem

# Environment of every process that opens channels (CLI, orchestrator, attack services): a
# deployment turns TLS on for all the clients in a process without each call site knowing.
ENV_TLS_CA = "LEAKRANGE_CLIENT_TLS_CA"  # PEM CA bundle that server certificates chain to
ENV_TLS_CERT = "LEAKRANGE_CLIENT_TLS_CERT"  # mutual TLS: this client's certificate chain
ENV_TLS_KEY = "LEAKRANGE_CLIENT_TLS_KEY"  # mutual TLS: this client's private key
ENV_TLS_SERVER_NAME = "LEAKRANGE_CLIENT_TLS_SERVER_NAME"  # name to verify instead of the host


@dataclass(frozen=True)
class ChannelTLS:
    """TLS for client channels: the CA to verify servers with, optionally a client
    certificate (mutual TLS) and a server name override."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChannelTLS | None:
        env = os.environ if env is None else env
        ca = env.get(ENV_TLS_CA)
        if not ca:
            if env.get(ENV_TLS_CERT) or env.get(ENV_TLS_KEY):
                raise InvalidArgument(ENV_TLS_CA, "a client certificate needs the CA as well")
            return None
        return cls(ca, env.get(ENV_TLS_CERT) or None, env.get(ENV_TLS_KEY) or None,
                   env.get(ENV_TLS_SERVER_NAME) or None)

    def credentials(self) -> grpc.ChannelCredentials:
        if bool(self.cert_file) != bool(self.key_file):
            raise InvalidArgument("client_tls", "certificate and key go together")
        return grpc.ssl_channel_credentials(
            root_certificates=read_pem(self.ca_file, "client_tls_ca"),
            private_key=read_pem(self.key_file, "client_tls_key") if self.key_file else None,
            certificate_chain=read_pem(self.cert_file, "client_tls_cert")
            if self.cert_file else None,
        )


def open_channel(
    address: str, token: str | None = None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    tls: ChannelTLS | None = None,
) -> grpc.Channel:
    """A channel that sends ``authorization: Bearer token``: TLS with ``tls`` (default: from
    the LEAKRANGE_CLIENT_TLS_* environment), else plaintext (loopback)."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    tls = tls if tls is not None else ChannelTLS.from_env()
    if tls is None:
        channel = grpc.insecure_channel(address, options=options)
    else:
        if tls.server_name:
            options.append(("grpc.ssl_target_name_override", tls.server_name))
        channel = grpc.secure_channel(address, tls.credentials(), options=options)
    if token:
        channel = grpc.intercept_channel(channel, BearerToken(token))
    return channel


class BearerToken(
    grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor
):
    """Adds the bearer token to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._md = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or []), self._md]
        return _CallDetails(
            details.method, details.timeout, metadata, details.credentials,
            getattr(details, "wait_for_ready", None), getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def wait_healthy(channel: grpc.Channel, service: str = "", timeout: float = 30.0) -> bool:
    """Poll grpc.health.v1 until SERVING or ``timeout``; returns whether it became healthy."""
    import time

    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2.0)
            if resp.status == health_pb2.HealthCheckResponse.SERVING:
                return True
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    return False
