"""The Target service on loopback, called through the generated stubs."""

from __future__ import annotations

import urllib.request

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from typer.testing import CliRunner

from leakrange.artifacts import MEDIA_MODEL, FolderStore
from leakrange.cli.main import app
from leakrange.common.client import open_channel
from leakrange.common.errors import InvalidArgument
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import from_proto, to_proto
from leakrange.models import model_from_bytes, predict_logits
from leakrange.target.model_host import ModelHost
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.v1 import common_pb2, target_pb2, target_pb2_grpc


def _stub(server, token: str | None = None) -> target_pb2_grpc.TargetStub:
    return target_pb2_grpc.TargetStub(open_channel(f"127.0.0.1:{server.port}", token))


def _predict(stub, x: np.ndarray) -> target_pb2.PredictResponse:
    return stub.Predict(target_pb2.PredictRequest(inputs=to_proto(x)))


def _local_logits(target, x: np.ndarray) -> np.ndarray:
    model, _, _ = model_from_bytes(target.store.get_bytes(target.ref))
    return predict_logits(model, x)


def test_health_and_reflection(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref)
    channel = open_channel(f"127.0.0.1:{server.port}")
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "leakrange.v1.Target"):
        resp = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
        list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert "leakrange.v1.Target" in names
    assert "grpc.health.v1.Health" in names


def test_describe(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref,
                          AccessPolicy("topk", top_k=1, query_budget=50))
    info = _stub(server).Describe(target_pb2.DescribeRequest())
    assert list(info.input_shape) == [adult_target.data.x.shape[1]]
    assert info.num_classes == 2
    assert info.model_kind == "mlp"
    assert info.access.output == common_pb2.OUTPUT_KIND_TOP_K
    assert info.remaining_budget == 50
    assert info.dataset == "adult"


@pytest.mark.parametrize("output", ["logits", "probabilities", "topk:1", "label"])
def test_policy_shapes(adult_target, serve_target, output):
    policy = AccessPolicy.parse(output)
    server = serve_target(adult_target.store, adult_target.ref, policy)
    x = adult_target.data.x[:7]
    resp = _predict(_stub(server), x)
    out = from_proto(resp.outputs)
    logits = _local_logits(adult_target, x)
    if output == "logits":
        np.testing.assert_allclose(out, logits, rtol=1e-5, atol=1e-5)
    elif output == "probabilities":
        assert out.shape == (7, 2)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(out.argmax(1), logits.argmax(1))
    elif output == "topk:1":
        assert out.shape == (7, 1)
        idx = from_proto(resp.indices)
        np.testing.assert_array_equal(idx[:, 0], logits.argmax(1))
        assert (out[:, 0] >= 0.5 - 1e-6).all()
    else:
        assert out.dtype == np.int64 and out.shape == (7,)
        np.testing.assert_array_equal(out, logits.argmax(1))
        assert not resp.HasField("indices")


def test_rounding(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref,
                          AccessPolicy("probabilities", rounding=1))
    out = from_proto(_predict(_stub(server), adult_target.data.x[:20]).outputs)
    np.testing.assert_allclose(out * 10, np.round(out * 10), atol=1e-4)


def test_query_budget_per_principal(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref,
                          AccessPolicy(query_budget=10), tokens={"t-a": "adv-a", "t-b": "adv-b"})
    a, b = _stub(server, "t-a"), _stub(server, "t-b")
    x = adult_target.data.x
    assert _predict(a, x[:6]).remaining_budget == 4
    with pytest.raises(grpc.RpcError) as err:
        _predict(a, x[:5])
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "budget" in err.value.details()
    assert _predict(a, x[:4]).remaining_budget == 0
    # The other adversary has its own budget.
    assert _predict(b, x[:10]).remaining_budget == 0
    assert a.Describe(target_pb2.DescribeRequest()).remaining_budget == 0


def _bad(stub, inputs: common_pb2.Tensor) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        stub.Predict(target_pb2.PredictRequest(inputs=inputs))
    return err.value


def test_bad_inputs_are_invalid_argument(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref, max_batch=16)
    stub = _stub(server)
    d = adult_target.data.x.shape[1]
    x = adult_target.data.x[:4].copy()
    cases = {
        "wrong shape": (to_proto(x[:, :-1]), "inputs.shape"),
        "wrong rank": (to_proto(x.reshape(4, 1, d)), "inputs.shape"),
        "integer dtype": (to_proto(x.astype(np.int64)), "inputs.dtype"),
        "empty": (to_proto(np.zeros((0, d), np.float32)), "inputs"),
        "oversize batch": (to_proto(np.zeros((17, d), np.float32)), "inputs.shape[0]"),
        "truncated data": (common_pb2.Tensor(dtype=common_pb2.DTYPE_FLOAT32, shape=[4, d],
                                             data=x.tobytes()[:-4]), "inputs.data"),
        "no dtype": (common_pb2.Tensor(shape=[4, d], data=x.tobytes()), "inputs.dtype"),
    }
    nan = x.copy()
    nan[1, 3] = np.nan
    cases["nan"] = (to_proto(nan), "inputs")
    inf = x.copy()
    inf[0, 0] = np.inf
    cases["inf"] = (to_proto(inf), "inputs")
    secret = f"{x[1, 3]:.6f}"
    for name, (tensor, field) in cases.items():
        err = _bad(stub, tensor)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        assert err.details().startswith(field), (name, err.details())
        assert secret not in err.details()


def test_oversized_payload_is_refused(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref, max_message_bytes=64 * 1024)
    big = np.zeros((1000, adult_target.data.x.shape[1]), np.float32)  # ~430 KB
    err = _bad(_stub(server), to_proto(big))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_get_weights_only_white_box(adult_target, serve_target):
    black = serve_target(adult_target.store, adult_target.ref, AccessPolicy())
    with pytest.raises(grpc.RpcError) as err:
        _stub(black).GetWeights(target_pb2.GetWeightsRequest())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    white = serve_target(adult_target.store, adult_target.ref, AccessPolicy(white_box=True))
    ref = _stub(white).GetWeights(target_pb2.GetWeightsRequest())
    assert ref.sha256 == adult_target.ref.sha256
    _model, spec, _ = model_from_bytes(adult_target.store.get_bytes(ref.sha256))
    assert spec.kind == "mlp"


def test_auth(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref, tokens={"s3cret": "adv"})
    x = adult_target.data.x[:2]
    for token in (None, "wrong"):
        with pytest.raises(grpc.RpcError) as err:
            _predict(_stub(server, token), x)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _predict(_stub(server, "s3cret"), x).outputs.shape == [2, 2]
    # A method no bound service declares is UNIMPLEMENTED, with a valid token or none.
    for token in ("s3cret", None):
        channel = open_channel(f"127.0.0.1:{server.port}", token)
        unknown = channel.unary_unary("/leakrange.v1.Target/DumpTrainingData",
                                      request_serializer=lambda m: b"",
                                      response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"")
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    # Health stays public (kubelet probes carry no token).
    health = health_pb2_grpc.HealthStub(open_channel(f"127.0.0.1:{server.port}"))
    assert health.Check(health_pb2.HealthCheckRequest()).status == \
        health_pb2.HealthCheckResponse.SERVING


def test_prometheus_metrics(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref, metrics=True)
    stub = _stub(server)
    _predict(stub, adult_target.data.x[:5])
    with pytest.raises(grpc.RpcError):
        _predict(stub, adult_target.data.x[:0])
    text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics").read().decode()
    assert 'leakrange_target_records_total{outcome="answered"} 5.0' in text
    assert ('leakrange_grpc_requests_total{code="OK",method="Predict",'
            'service="leakrange.v1.Target"} 1.0') in text
    assert ('leakrange_grpc_requests_total{code="INVALID_ARGUMENT",method="Predict",'
            'service="leakrange.v1.Target"} 1.0') in text
    assert "leakrange_grpc_request_seconds_bucket" in text


@pytest.mark.parametrize(
    "shape",
    [[4, 2**62], [1, 2**32, 2**32], [0, 2**62], [2**62, 14], [1] * 40, [-1, 14], [3] * 65],
    ids=["overflow", "overflow-rank3", "zero-overflow", "huge-batch", "rank-40", "negative",
         "rank-65"],
)
def test_hostile_shapes_are_invalid_argument(adult_target, serve_target, shape):
    server = serve_target(adult_target.store, adult_target.ref)
    tensor = common_pb2.Tensor(dtype=common_pb2.DTYPE_FLOAT32, shape=shape, data=b"")
    err = _bad(_stub(server), tensor)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details().startswith("inputs.shape")


def test_hostile_shapes_in_the_tensor_codec_name_the_field():
    for shape in ([4, 2**62], [1, 2**32, 2**32], [0, 2**62], [1] * 40):
        tensor = common_pb2.Tensor(dtype=common_pb2.DTYPE_FLOAT32, shape=shape, data=b"")
        with pytest.raises(InvalidArgument) as err:
            from_proto(tensor, "audit.x", max_elements=10**6, allow_empty=True)
        assert err.value.field == "audit.x.shape"


@pytest.mark.parametrize(
    ("value", "dtype"), [(1e300, np.float64), (-1e300, np.float64), (3e38, np.float32)]
)
def test_finite_but_huge_inputs_are_refused_and_not_charged(
    adult_target, serve_target, value, dtype
):
    server = serve_target(adult_target.store, adult_target.ref, AccessPolicy(query_budget=100))
    stub = _stub(server)
    x = np.full((3, adult_target.data.x.shape[1]), value, dtype=dtype)
    err = _bad(stub, to_proto(x))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details().startswith("inputs")
    assert str(value) not in err.details()
    assert stub.Describe(target_pb2.DescribeRequest()).remaining_budget == 100


@pytest.mark.parametrize("max_batch", [0, -1])
def test_non_positive_max_batch_is_refused(adult_target, max_batch):
    with pytest.raises(InvalidArgument) as err:
        ModelHost.from_store(adult_target.store, adult_target.ref.uri, max_batch)
    assert err.value.field == "max_batch"


@pytest.mark.parametrize("max_batch", ["0", "-3"])
def test_cli_refuses_non_positive_max_batch(max_batch):
    result = CliRunner().invoke(app, ["serve", "target", "--model", "sha256:" + "0" * 64,
                                      "--max-batch", max_batch])
    assert result.exit_code == 2
    assert "--max-batch" in result.output


def test_white_box_target_publishes_its_weights_to_the_adversary_store(adult_target, tmp_path):
    adversary_store = FolderStore(tmp_path / "adversary")
    assert not adversary_store.exists(adult_target.ref.sha256)
    server = build_target_server(
        adult_target.store,
        TargetSettings(adult_target.ref.uri, AccessPolicy(white_box=True), 64, adversary_store),
        ServerOptions(port=0, grace_seconds=0.1),
    ).start()
    try:
        ref = _stub(server).GetWeights(target_pb2.GetWeightsRequest())
        assert adversary_store.get_bytes(ref.sha256) == adult_target.store.get_bytes(ref.sha256)
    finally:
        server.stop(grace=0)
    black_store = FolderStore(tmp_path / "black")
    server = build_target_server(
        adult_target.store, TargetSettings(adult_target.ref.uri, AccessPolicy(), 64, black_store),
        ServerOptions(port=0, grace_seconds=0.1),
    ).start()
    server.stop(grace=0)
    assert not black_store.exists(adult_target.ref.sha256)


def test_target_with_a_corrupted_model_blob_fails_at_once(adult_target, tmp_path):
    store = FolderStore(tmp_path / "store")
    data = adult_target.store.get_bytes(adult_target.ref)
    ref = store.put_bytes(data, MEDIA_MODEL)
    store.blob_path(ref.sha256).write_bytes(data[:-10] + b"\0" * 10)
    result = CliRunner().invoke(app, ["serve", "target", "--store", str(store.root),
                                      "--model", ref.uri, "--port", "0"])
    assert result.exit_code != 0
    assert f"artifact sha256:{ref.sha256[:12]} is corrupted" in result.output
    assert "LEAKRANGE_READY" not in result.output


@pytest.mark.parametrize("tokens", [None, {"s3cret": "adv"}], ids=["open", "auth"])
def test_invented_method_names_do_not_grow_the_metrics(adult_target, serve_target, tokens):
    server = serve_target(adult_target.store, adult_target.ref, tokens=tokens, metrics=True)
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    channel = open_channel(f"127.0.0.1:{server.port}")
    for i in range(20):
        call = channel.unary_unary(f"/leakrange.v1.Target/Random{i}",
                                   request_serializer=lambda m: b"",
                                   response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as err:
            call(b"")
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    text = urllib.request.urlopen(url).read().decode()
    assert "Random" not in text
    series = [line for line in text.splitlines()
              if line.startswith("leakrange_grpc_requests_total{")]
    assert len(series) <= 1
    if tokens:
        assert ('leakrange_grpc_requests_total{code="UNIMPLEMENTED",method="unknown",'
                'service="unknown"} 20.0') in text


def test_describe_reports_the_effective_top_k(adult_target, serve_target):
    server = serve_target(adult_target.store, adult_target.ref, AccessPolicy("topk", top_k=3))
    stub = _stub(server)
    info = stub.Describe(target_pb2.DescribeRequest())
    returned = from_proto(_predict(stub, adult_target.data.x[:4]).outputs)
    assert info.access.top_k == returned.shape[1] == 2
