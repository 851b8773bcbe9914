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
  server-side work without gRPC.

Prints one JSON object on the last line:

    {"grpc_records_per_s": {"1", "64", "1024", "4096"}, "inprocess_records_per_s": {...},
     "ratio_batch_1", "ratio_batch_64", "ratio_batch_1024", "ratio_batch_4096", ...}

``ratio_batch_B`` = grpc / inprocess at batch B (1.0 means gRPC costs nothing).
"""

from __future__ import annotations

import argparse
import tempfile
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


def measure(seconds: float, epochs: int) -> dict[str, object]:
    data = load_dataset("adult")
    rows = np.random.default_rng(0).permutation(len(data.y))
    train, queries = rows[:TRAIN_ROWS], data.x[rows[TRAIN_ROWS:TRAIN_ROWS + max(BATCHES)]]
    spec = zoo_spec("mlp", data.input_shape, data.num_classes)
    recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=epochs, seed=0)
    model = train_model(spec, recipe, data.x[train], data.y[train])
    policy = AccessPolicy()

    with tempfile.TemporaryDirectory(prefix="bench-target-") as tmp:
        store = FolderStore(Path(tmp))
        ref = store.put_bytes(model_to_bytes(model, spec, {"dataset": data.name}), MEDIA_MODEL)
        host = ModelHost.from_store(store, ref.uri)
        server = build_target_server(
            store, TargetSettings(ref.uri, policy), ServerOptions(port=0, grace_seconds=0.0)
        ).start()
        grpc_rate: dict[str, float] = {}
        local_rate: dict[str, float] = {}
        try:
            with TargetClient(server.address) as client:
                client.describe()
                for batch in BATCHES:
                    x = np.ascontiguousarray(queries[:batch])

                    def remote(x: np.ndarray = x) -> object:
                        return client.predict(x)

                    def local(x: np.ndarray = x) -> object:
                        return shape_outputs(host.logits(host.validate(x)), policy)

                    rates = interleaved_rates({"grpc": remote, "local": local}, seconds)
                    grpc_rate[str(batch)] = batch * rates["grpc"]
                    local_rate[str(batch)] = batch * rates["local"]
                    # The two paths must answer the same numbers.
                    same = np.array_equal(client.predict(x).outputs, local(x)[0])  # type: ignore[index]
                    if not same:
                        raise AssertionError("gRPC and in-process outputs differ")
        finally:
            server.stop(grace=0)

    result: dict[str, object] = {
        "grpc_records_per_s": {k: round(v, 1) for k, v in grpc_rate.items()},
        "inprocess_records_per_s": {k: round(v, 1) for k, v in local_rate.items()},
    }
    for batch in BATCHES:
        key = str(batch)
        result[f"ratio_batch_{batch}"] = round(grpc_rate[key] / local_rate[key], 3)
    result.update({
        "seconds_per_point": seconds, "rounds": 5, "torch_threads": torch.get_num_threads(),
        "input_features": int(data.x.shape[1]), "policy": policy.output,
    })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s per point instead of 3 s")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the machine is shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = measure(seconds=1.0 if args.quick else 3.0, epochs=1 if args.quick else 3)
    for batch in BATCHES:
        key = str(batch)
        print(f"batch {batch:>5}: grpc {result['grpc_records_per_s'][key]:>10} rec/s, "  # type: ignore[index]
              f"in-process {result['inprocess_records_per_s'][key]:>10} rec/s, "  # type: ignore[index]
              f"ratio {result[f'ratio_batch_{batch}']}")
    print_json(result)


if __name__ == "__main__":
    main()
