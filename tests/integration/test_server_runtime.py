"""The shared server runtime: error translation, draining, SIGTERM, env settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from leakrange.common.client import open_channel, wait_healthy
from leakrange.common.errors import InvalidArgument
from leakrange.common.server import ServerOptions, ServiceBinding, build_server
from leakrange.v1 import target_pb2, target_pb2_grpc


class _Exploding(target_pb2_grpc.TargetServicer):
    def Describe(self, request, context):
        raise RuntimeError("patient 4711 has diabetes")  # must never reach the client

    def Predict(self, request, context):
        raise InvalidArgument("inputs", "bad")

    def GetWeights(self, request, context):
        time.sleep(1.0)
        return target_pb2.TargetInfo()


def _server(servicer) -> object:
    binding = ServiceBinding(target_pb2.DESCRIPTOR.services_by_name["Target"], servicer,
                             target_pb2_grpc.add_TargetServicer_to_server)
    return build_server([binding], ServerOptions(port=0, grace_seconds=3.0)).start()


def test_unexpected_errors_become_internal_without_detail(caplog):
    server = _server(_Exploding())
    stub = target_pb2_grpc.TargetStub(open_channel(server.address))
    with caplog.at_level("ERROR"), pytest.raises(grpc.RpcError) as err:
        stub.Describe(target_pb2.DescribeRequest())
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "4711" not in err.value.details() and "diabetes" not in err.value.details()
    assert "patient 4711" in caplog.text  # the detail goes to the log
    with pytest.raises(grpc.RpcError) as err:
        stub.Predict(target_pb2.PredictRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "inputs: bad"
    server.stop(0)


def test_drain_sets_not_serving_and_finishes_in_flight_calls():
    server = _server(_Exploding())
    channel = open_channel(server.address)
    health = health_pb2_grpc.HealthStub(channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service="leakrange.v1.Target"))
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stub = target_pb2_grpc.TargetStub(channel)
    in_flight = stub.GetWeights.future(target_pb2.GetWeightsRequest())
    time.sleep(0.2)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    in_flight.result(timeout=5)  # the slow call completes within the grace period
    stopper.join(timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.GetWeights(target_pb2.GetWeightsRequest(), timeout=1)


class _Describing(_Exploding):
    def Describe(self, request, context):
        return target_pb2.TargetInfo(model_kind="mlp")


def test_keeps_serving_during_the_drain_delay_after_not_serving():
    """Health turns NOT_SERVING first; calls still succeed until the drain delay ends (here:
    ended early by ``end_drain_delay``, as a second SIGTERM does), then they are refused."""
    binding = ServiceBinding(target_pb2.DESCRIPTOR.services_by_name["Target"], _Describing(),
                             target_pb2_grpc.add_TargetServicer_to_server)
    server = build_server([binding], ServerOptions(port=0, grace_seconds=1.0,
                                                   drain_delay_seconds=120.0)).start()
    channel = open_channel(server.address)
    health = health_pb2_grpc.HealthStub(channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service="leakrange.v1.Target"))
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    stub = target_pb2_grpc.TargetStub(channel)
    for _ in range(3):  # still answered although health says NOT_SERVING
        assert stub.Describe(target_pb2.DescribeRequest(), timeout=10).model_kind == "mlp"
    assert stopper.is_alive()
    server.end_drain_delay()
    stopper.join(timeout=30)
    assert not stopper.is_alive()
    with pytest.raises(grpc.RpcError):
        stub.Describe(target_pb2.DescribeRequest(), timeout=1)


def test_drain_delay_flag_reaches_the_server_options():
    from leakrange.cli.options import server_options

    assert server_options("127.0.0.1", 0, None, None, None, 1024, 1.0, 7.5) \
        .drain_delay_seconds == 7.5


def test_serve_target_cli_sigterm_exits_cleanly(adult_target, tmp_path):
    env = {**os.environ, "LEAKRANGE_STORE": str(adult_target.store.root),
           "LEAKRANGE_OUTPUT": "label", "LEAKRANGE_PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leakrange.cli.main", "serve", "target",
         "--model", adult_target.ref.uri, "--grace-seconds", "2",
         "--drain-delay", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("LEAKRANGE_READY port="), proc.stderr.read()
        port = int(line.split()[1].split("=")[1])
        channel = open_channel(f"127.0.0.1:{port}")
        assert wait_healthy(channel, timeout=10)
        info = target_pb2_grpc.TargetStub(channel).Describe(target_pb2.DescribeRequest())
        assert info.access.output == 4  # label, from LEAKRANGE_OUTPUT
        proc.send_signal(signal.SIGTERM)
        # NOT_SERVING at once, still answering during the 60 s drain delay ...
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        while next(watch).status != health_pb2.HealthCheckResponse.NOT_SERVING:
            pass
        target_pb2_grpc.TargetStub(channel).Describe(target_pb2.DescribeRequest(), timeout=10)
        proc.send_signal(signal.SIGTERM)  # ... which a second SIGTERM ends
        assert proc.wait(timeout=20) == 0
        logs = proc.stderr.read()
        assert '"msg": "stopped"' in logs
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_target_bad_flags_exit_2(adult_target):
    proc = subprocess.run(
        [sys.executable, "-m", "leakrange.cli.main", "serve", "target", "--model",
         adult_target.ref.uri, "--store", str(adult_target.store.root), "--output", "topk:x"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "output: topk needs a positive K" in proc.stderr
