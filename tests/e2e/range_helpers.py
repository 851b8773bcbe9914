"""Helpers shared by the orchestrator tests: small specs, orchestrators, a wire recorder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from pathlib import Path

import grpc

from leakrange.orchestrator.backend import Deployment, RangeBackend, TargetDeploySpec

SMALL_TARGET = (
    "  train: {dataset: adult, members: 300, split_seed: 0, model: mlp-small,"
    " recipe: {epochs: 3, batch_size: 64}}\n"
)


def small_spec(name: str = "small", attacks: str = "      - {name: loss}\n",
               budget: int = 0, extra: str = "") -> str:
    """A quick exercise: a small MLP on 300 Adult members, one MIA adversary."""
    return (
        f"name: {name}\n"
        "target:\n" + SMALL_TARGET +
        "threat_model:\n"
        f"  access: {{output: probabilities, query_budget: {budget}}}\n"
        "  knowledge: {data_fraction: 0.02}\n"
        "adversaries:\n"
        "  - family: mia\n"
        "    attacks:\n" + attacks + extra
    )


def _identity(data: bytes) -> bytes:
    return data


class RecordingBackend(RangeBackend):
    """Wraps a real backend; puts a byte-level gRPC proxy in front of each attack service and
    records every ``Attack/Run`` request exactly as it crosses the wire."""

    name = "recording"

    def __init__(self, inner: RangeBackend) -> None:
        self.inner = inner
        self.run_requests: list[bytes] = []
        self._proxies: dict[str, list[grpc.Server]] = {}
        self._lock = threading.Lock()

    def _proxy(self, upstream: str) -> tuple[grpc.Server, str]:
        channel = grpc.insecure_channel(upstream)
        recorded = self.run_requests

        def handler(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            method = details.method
            forward_md = [(k, v) for k, v in details.invocation_metadata
                          if k == "authorization"]
            if method.endswith("/Run"):
                def run(request: bytes, context: grpc.ServicerContext):
                    with self._lock:
                        recorded.append(request)
                    call = channel.unary_stream(method, _identity, _identity)(
                        request, metadata=forward_md)
                    context.add_callback(call.cancel)
                    yield from call
                return grpc.unary_stream_rpc_method_handler(run, _identity, _identity)

            def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
                return channel.unary_unary(method, _identity, _identity)(
                    request, metadata=forward_md)
            return grpc.unary_unary_rpc_method_handler(unary, _identity, _identity)

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                             handlers=[_Generic(handler)],
                             options=[("grpc.max_receive_message_length", 64 << 20),
                                      ("grpc.max_send_message_length", 64 << 20)])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        return server, f"127.0.0.1:{port}"

    def deploy(self, exercise_id: str, target: TargetDeploySpec | None, families: Sequence[str],
               tokens: Mapping[str, str]) -> Deployment:
        real = self.inner.deploy(exercise_id, target, families, tokens)
        proxies, addresses = [], {}
        for family, address in real.attack_addresses.items():
            server, proxied = self._proxy(address)
            proxies.append(server)
            addresses[family] = proxied
        with self._lock:
            self._proxies[exercise_id] = proxies
        return Deployment(exercise_id, real.target_address, addresses, real.attack_token)

    def check(self, deployment: Deployment) -> str | None:
        return self.inner.check(deployment)

    def teardown(self, exercise_id: str) -> None:
        with self._lock:
            proxies = self._proxies.pop(exercise_id, [])
        for server in proxies:
            server.stop(0)
        self.inner.teardown(exercise_id)

    def cleanup_orphans(self) -> list[str]:
        return self.inner.cleanup_orphans()

    def close(self) -> None:
        self.inner.close()


class _Generic(grpc.GenericRpcHandler):
    def __init__(self, fn) -> None:
        self._fn = fn

    def service(self, handler_call_details):
        return self._fn(handler_call_details)


_READY = re.compile(r"LEAKRANGE_READY port=(\d+) metrics_port=(\d+)")


class OrchestratorProcess:
    """``leakrange serve orchestrator`` as a child process (port 0; ports read from stdout)."""

    def __init__(self, store: Path, data_dir: Path, token: str | None = None,
                 concurrency: int = 2) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("LEAKRANGE_TOKEN", None)
        if token:
            env["LEAKRANGE_TOKEN"] = token
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leakrange.cli.main", "serve", "orchestrator",
             "--store", str(store), "--data-dir", str(data_dir), "--port", "0",
             "--metrics-port", "0", "--concurrency", str(concurrency),
             "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = _READY.search(line)
            if match:
                self.port, self.metrics_port = int(match.group(1)), int(match.group(2))
                self.address = f"127.0.0.1:{self.port}"
                return
        self.proc.kill()
        raise RuntimeError("orchestrator did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
