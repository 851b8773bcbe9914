"""The health probe the images' HEALTHCHECK and the charts' helm test pods run, against a real
gRPC server on loopback, as a separate process (as Docker and the test pod start it)."""

from __future__ import annotations

import subprocess
import sys

from leakrange.common.server import ServerOptions, build_server

PROBE = [sys.executable, "-m", "leakrange.common.health_probe"]


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROBE, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_probe_exits_0_while_serving_and_1_once_draining_or_gone() -> None:
    server = build_server([], ServerOptions(port=0, grace_seconds=0))
    address = f"127.0.0.1:{server.port}"
    not_yet = _probe(address, "--timeout", "5")  # built, not started: no answer
    assert not_yet.returncode == 1
    server.start()
    try:
        assert _probe(address).returncode == 0
        server.health.enter_graceful_shutdown()
        draining = _probe(address)
        assert draining.returncode == 1
        assert draining.stderr.strip() == f"health {address}: NOT_SERVING"
    finally:
        server.stop(0)
    gone = _probe(address, "--timeout", "2")
    assert gone.returncode == 1
    assert "UNAVAILABLE" in gone.stderr or "DEADLINE_EXCEEDED" in gone.stderr
    assert _probe().returncode == 2  # no address: usage error
