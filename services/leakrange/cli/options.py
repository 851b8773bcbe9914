"""Options shared by the ``serve`` commands: flags, each with a LEAKRANGE_* variable."""

from __future__ import annotations

from typing import Annotated

import typer

from leakrange.common.errors import InvalidArgument
from leakrange.common.server import DEFAULT_MAX_MESSAGE_BYTES, ServerOptions

# Boolean flags take no value: an empty metavar keeps help from showing a "<bool>" argument
# (typer 0.29 with click 8.5 prints one for every flag otherwise).
FLAG_METAVAR = ""

Host = Annotated[str, typer.Option("--host", envvar="LEAKRANGE_HOST", help="Bind address.")]
Port = Annotated[int, typer.Option("--port", envvar="LEAKRANGE_PORT", help="gRPC port (0: any).")]
MetricsPort = Annotated[
    int | None,
    typer.Option("--metrics-port", envvar="LEAKRANGE_METRICS_PORT",
                 help="Prometheus HTTP port (0: any; unset: no metrics endpoint)."),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="LEAKRANGE_TOKEN", show_default=False,
                 help="Bearer token required on every call (principal 'client')."),
]
ClientTokens = Annotated[
    str | None,
    typer.Option("--client-tokens", envvar="LEAKRANGE_CLIENT_TOKENS", show_default=False,
                 help="Comma-separated principal:token pairs; each principal has its own budget."),
]
MaxMessage = Annotated[
    int, typer.Option("--max-message-bytes", envvar="LEAKRANGE_MAX_MESSAGE_BYTES"),
]
Grace = Annotated[
    float, typer.Option("--grace-seconds", envvar="LEAKRANGE_GRACE_SECONDS",
                        help="How long in-flight calls may finish after SIGTERM."),
]
DrainDelay = Annotated[
    float, typer.Option("--drain-delay", envvar="LEAKRANGE_DRAIN_DELAY", min=0.0, max=300.0,
                        help="Seconds to keep serving after SIGTERM turns health NOT_SERVING, "
                             "so load balancers stop sending calls first (a second SIGTERM "
                             "ends it early)."),
]
TlsCert = Annotated[
    str | None,
    typer.Option("--tls-cert", envvar="LEAKRANGE_TLS_CERT", show_default=False,
                 help="Serve TLS with this PEM certificate chain (with --tls-key)."),
]
TlsKey = Annotated[
    str | None,
    typer.Option("--tls-key", envvar="LEAKRANGE_TLS_KEY", show_default=False,
                 help="PEM private key of --tls-cert."),
]
TlsClientCa = Annotated[
    str | None,
    typer.Option("--tls-client-ca", envvar="LEAKRANGE_TLS_CLIENT_CA", show_default=False,
                 help="Mutual TLS: require client certificates that chain to this PEM CA."),
]
HealthPort = Annotated[
    int | None,
    typer.Option("--health-port", envvar="LEAKRANGE_HEALTH_PORT", show_default=False,
                 help="Plaintext port serving only gRPC health, for probes that cannot do TLS "
                      "(kubelet's); unset: none."),
]
LogLevel = Annotated[str, typer.Option("--log-level", envvar="LEAKRANGE_LOG_LEVEL")]
Store = Annotated[
    str, typer.Option("--store", envvar="LEAKRANGE_STORE",
                      help="Artifact store: a folder path or s3://bucket?endpoint=host:port."),
]


def parse_tokens(token: str | None, client_tokens: str | None) -> dict[str, str]:
    """token -> principal, from ``--token`` and ``--client-tokens``."""
    tokens: dict[str, str] = {}
    if token:
        tokens[token] = "client"
    for pair in (client_tokens or "").split(","):
        if not pair.strip():
            continue
        principal, sep, value = pair.strip().partition(":")
        if not sep or not principal or not value:
            raise InvalidArgument("client_tokens", "expected principal:token pairs")
        tokens[value] = principal
    return tokens


def server_options(
    host: str, port: int, metrics_port: int | None, token: str | None,
    client_tokens: str | None, max_message_bytes: int, grace_seconds: float,
    drain_delay: float = 0.0, tls_cert: str | None = None, tls_key: str | None = None,
    tls_client_ca: str | None = None, health_port: int | None = None,
) -> ServerOptions:
    return ServerOptions(
        host=host, port=port, metrics_port=metrics_port,
        metrics_host="0.0.0.0" if host in ("0.0.0.0", "::") else host,
        auth_tokens=parse_tokens(token, client_tokens),
        max_message_bytes=max_message_bytes, grace_seconds=grace_seconds,
        drain_delay_seconds=drain_delay, tls_cert_file=tls_cert, tls_key_file=tls_key,
        tls_client_ca_file=tls_client_ca, health_port=health_port,
    )


DEFAULT_MAX_MESSAGE = DEFAULT_MAX_MESSAGE_BYTES
