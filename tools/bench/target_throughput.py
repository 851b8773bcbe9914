"""Benchmark: Target service Predict throughput over gRPC vs the same work in-process.

An Adult MLP (in-64-64-2, a few epochs: throughput does not depend on accuracy) is stored in a
temporary folder store and served with ``build_target_server`` on loopback (port 0, default
probabilities policy). Records per second are measured at batch 1, 64, 1024 and 4096 (the
default max_batch, which TargetClient uses unless told otherwise), each path in
5 alternating rounds (the median round counts, so a burst of load on a shared machine hits both
paths alike):

- ``grpc``: ``TargetClient.predict`` (client encoding, the RPC with its interceptors, server
  decoding and validation, the model, the policy, and client decoding);
- ``inprocess``: ``ModelHost.validate`` + ``ModelHost.logits`` + ``shape_outputs``, the
  server-side work without gRPC;
- ``onnx``: the same model exported to ONNX, imported and served by the Target service with
  onnxruntime (``target.imported`` with an ONNX file), through ``TargetClient``;
- ``proxy_rest`` / ``proxy_grpc`` (unless ``--no-endpoint``): the same ONNX model served by a
  real Seldon MLServer 1.7 on loopback (``.venv-mlserver``, built by ``make setup``; the test
  suite's custom runtime), and the range's Target service proxying it (``target.endpoint``),
  through ``TargetClient``: client -> Target service -> Open Inference Protocol -> MLServer;
- ``direct_rest`` / ``direct_grpc``: the range's Open Inference Protocol client straight to
  MLServer, so the proxy's own cost is ``proxy_x / direct_x``.

Prints one JSON object on the last line:

    {"grpc_records_per_s": {"1", "64", "1024", "4096"}, "inprocess_records_per_s": {...},
     "onnx_records_per_s": {...}, "proxy_rest_records_per_s": {...}, ...,
     "ratio_batch_1", ..., "onnx_vs_native": {...}, "proxy_rest_vs_native": {...},
     "proxy_grpc_vs_direct_grpc": {...}, ...}

``ratio_batch_B`` = grpc / inprocess at batch B (1.0 means gRPC costs nothing);
``X_vs_native`` = X / grpc (the range serving its own model) at each batch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import torch
from _common import interleaved_rates, print_json

from leakrange.artifacts import MEDIA_MODEL, FolderStore
from leakrange.common.server import ServerOptions
from leakrange.datasets import load_dataset
from leakrange.models import TrainRecipe, model_to_bytes, train_model, zoo_spec
from leakrange.target.client import TargetClient
from leakrange.target.model_host import ModelHost
from leakrange.target.policy import AccessPolicy, shape_outputs
from leakrange.target.service import TargetSettings, build_target_server

BATCHES = (1, 64, 1024, 4096)  # 4096: the max_batch TargetClient sends by default
TRAIN_ROWS = 5_000
ROOT = Path(__file__).resolve().parents[2]
SECRET, TOKEN = "bench-endpoint", "bench-token"


def _export_onnx(model: torch.nn.Module, width: int, path: Path) -> None:
    torch.onnx.export(model.eval(), (torch.zeros(1, width),), str(path), dynamo=False,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def _import_adult(store: FolderStore, data: object, train: np.ndarray, folder: Path) -> None:
    """Adult as an imported data set (what an ONNX or endpoint target needs), as .npz."""
    from leakrange.imports.data_import import DataImport, import_data
    from leakrange.imports.data_schema import DataSchema

    member = np.zeros(len(data.y), dtype=bool)  # type: ignore[attr-defined]
    member[train] = True
    npz = folder / "adult.npz"
    np.savez(npz, x=data.x, y=data.y, member=member)  # type: ignore[attr-defined]
    import_data(store, DataImport("adult-import", npz, DataSchema(label="label")))


@contextmanager
def _served(store: FolderStore, ref: str, policy: AccessPolicy) -> Iterator[TargetClient]:
    server = build_target_server(store, TargetSettings(ref, policy),
                                 ServerOptions(port=0, grace_seconds=0.0)).start()
    try:
        with TargetClient(server.address) as client:
            client.describe()
            yield client
    finally:
        server.stop(grace=0)


Path_fn = Callable[[np.ndarray], object]


def _endpoint_paths(stack: ExitStack, store: FolderStore, onnx_file: Path, width: int,
                    folder: Path, policy: AccessPolicy) -> dict[str, Path_fn]:
    """MLServer serving ``onnx_file``; the Target service proxying it over REST and gRPC; the
    range's OIP client straight to MLServer."""
    import os

    sys.path.insert(0, str(ROOT))
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.target_kinds.base import PrepareContext
    from leakrange.orchestrator.target_kinds.endpoint import EndpointTarget
    from leakrange.orchestrator.target_kinds.endpoint_prepare import prepare_endpoint
    from leakrange.target.oip_client import EndpointAddress, connect
    from tests.fixtures.mlserver import start_mlserver

    os.environ["LEAKRANGE_SECRET_BENCH_ENDPOINT"] = TOKEN
    server = stack.enter_context(start_mlserver(onnx_file, folder / "mlserver",
                                                input_width=width, num_classes=2,
                                                model="adult", token=TOKEN))
    paths: dict[str, Callable[[np.ndarray], object]] = {}
    for protocol, url, key in (("open-inference-rest", server.rest_url, "rest"),
                               ("open-inference-grpc", server.grpc_url, "grpc")):
        target = EndpointTarget.model_validate({
            "protocol": protocol, "url": url, "model": "adult", "credentials_secret": SECRET,
            "data": "adult-import", "max_batch": max(BATCHES)})
        prepared = prepare_endpoint(target, PrepareContext(store, DatasetCache(store)))
        client = stack.enter_context(_served(store, prepared.model_ref.uri, policy))
        paths[f"proxy_{key}"] = client.predict
        direct = connect(EndpointAddress(protocol, url, "adult", token=TOKEN))  # type: ignore[arg-type]
        stack.callback(direct.close)
        paths[f"direct_{key}"] = lambda x, d=direct: d.infer(x, "input", None, 2)
    return paths


def measure(seconds: float, epochs: int, endpoint: bool = True) -> dict[str, object]:
    data = load_dataset("adult")
    rows = np.random.default_rng(0).permutation(len(data.y))
    train, queries = rows[:TRAIN_ROWS], data.x[rows[TRAIN_ROWS:TRAIN_ROWS + max(BATCHES)]]
    spec = zoo_spec("mlp", data.input_shape, data.num_classes)
    recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=epochs, seed=0)
    model = train_model(spec, recipe, data.x[train], data.y[train])
    policy = AccessPolicy()

    rates: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-target-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        store = FolderStore(folder / "store")
        ref = store.put_bytes(model_to_bytes(model, spec, {"dataset": data.name}), MEDIA_MODEL)
        host = ModelHost.from_store(store, ref.uri)
        native = stack.enter_context(_served(store, ref.uri, policy))
        _import_adult(store, data, train, folder)
        onnx_file = folder / "adult.onnx"
        _export_onnx(model, int(data.x.shape[1]), onnx_file)
        from leakrange.imports.model_import import ModelImport, import_model

        onnx_ref = import_model(store, ModelImport(onnx_file, "onnx", "adult-import")).ref
        onnx_client = stack.enter_context(_served(store, onnx_ref.uri, policy))

        def local(x: np.ndarray) -> object:
            return shape_outputs(host.logits(host.validate(x)), policy)

        paths: dict[str, Callable[[np.ndarray], object]] = {
            "grpc": native.predict, "inprocess": local, "onnx": onnx_client.predict}
        if endpoint:
            paths.update(_endpoint_paths(stack, store, onnx_file, int(data.x.shape[1]),
                                         folder, policy))
        for batch in BATCHES:
            x = np.ascontiguousarray(queries[:batch])
            calls = {name: (lambda fn=fn, x=x: fn(x)) for name, fn in paths.items()}
            for name, rate in interleaved_rates(calls, seconds).items():
                rates.setdefault(name, {})[str(batch)] = batch * rate
            # Every Target path must answer what the in-process model answers (float32 output,
            # ONNX and the server's float32 logits within rounding of torch's).
            expected = local(x)[0]  # type: ignore[index]
            if not np.array_equal(native.predict(x).outputs, expected):
                raise AssertionError("gRPC and in-process outputs differ")
            for name in ("onnx", "proxy_rest", "proxy_grpc"):
                if name in paths and not np.allclose(paths[name](x).outputs,  # type: ignore[attr-defined]
                                                     expected, atol=1e-5):
                    raise AssertionError(f"{name} outputs differ from the in-process model")
    grpc_rate, local_rate = rates["grpc"], rates["inprocess"]

    result: dict[str, object] = {
        f"{name}_records_per_s": {k: round(v, 1) for k, v in per_batch.items()}
        for name, per_batch in rates.items()
    }
    for batch in BATCHES:
        key = str(batch)
        result[f"ratio_batch_{batch}"] = round(grpc_rate[key] / local_rate[key], 3)
    for name in ("onnx", "proxy_rest", "proxy_grpc"):
        if name in rates:
            result[f"{name}_vs_native"] = {k: round(rates[name][k] / grpc_rate[k], 3)
                                           for k in grpc_rate}
    for key in ("rest", "grpc"):
        if f"proxy_{key}" in rates:
            result[f"proxy_{key}_vs_direct_{key}"] = {
                k: round(rates[f"proxy_{key}"][k] / rates[f"direct_{key}"][k], 3)
                for k in grpc_rate}
    result.update({
        "seconds_per_point": seconds, "rounds": 5, "torch_threads": torch.get_num_threads(),
        "input_features": int(data.x.shape[1]), "policy": policy.output,
    })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s per point instead of 3 s")
    parser.add_argument("--no-endpoint", action="store_true",
                        help="skip the MLServer proxy paths (no .venv-mlserver needed)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the machine is shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = measure(seconds=1.0 if args.quick else 3.0, epochs=1 if args.quick else 3,
                     endpoint=not args.no_endpoint)
    names = [k.removesuffix("_records_per_s") for k in result if k.endswith("_records_per_s")]
    for batch in BATCHES:
        key = str(batch)
        cells = ", ".join(f"{n} {result[f'{n}_records_per_s'][key]}" for n in names)  # type: ignore[index]
        print(f"batch {batch:>5} rec/s: {cells}")
    print_json(result)


if __name__ == "__main__":
    main()
