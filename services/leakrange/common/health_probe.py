"""``python -m leakrange.common.health_probe ADDRESS``: one gRPC health check, as an exit code.

For the images' HEALTHCHECK and the charts' ``helm test`` pods, where kubelet's native gRPC
probe is not available (the Docker engine, a test pod). It imports only grpc and the range's
channel helpers (no torch, no CLI), so it starts in well under a second. TLS comes from the
``LEAKRANGE_CLIENT_TLS_*`` environment as for every range client; under TLS it may also check
the plaintext ``--health-port`` instead.

Exit codes: 0 SERVING; 1 any other status, no answer within the timeout, or an error (one line
on stderr naming the address and the status, never any data); 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from leakrange.common.client import open_channel
from leakrange.common.errors import RangeError

EXIT_SERVING = 0
EXIT_UNHEALTHY = 1


def check(address: str, service: str = "", timeout: float = 5.0) -> str:
    """The health status name of ``service`` at ``address`` (``SERVING``, ``NOT_SERVING`` ...),
    or ``UNAVAILABLE`` / the gRPC code name when the call fails."""
    channel = open_channel(address)
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except grpc.RpcError as err:
        code = err.code() if hasattr(err, "code") else None
        return code.name if isinstance(code, grpc.StatusCode) else "UNAVAILABLE"
    finally:
        channel.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leakrange.common.health_probe",
        description="Check a LeakPro Range service's gRPC health; exit 0 when SERVING.")
    parser.add_argument("address", help="host:port of the gRPC (or --health-port) endpoint")
    parser.add_argument("--service", default="", help="service name ('' = the whole server)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    args = parser.parse_args(argv)
    try:
        status = check(args.address, args.service, args.timeout)
    except RangeError as err:  # e.g. an unreadable LEAKRANGE_CLIENT_TLS_* file
        print(f"health {args.address}: {err}", file=sys.stderr)
        return EXIT_UNHEALTHY
    if status == "SERVING":
        return EXIT_SERVING
    print(f"health {args.address}: {status}", file=sys.stderr)
    return EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
