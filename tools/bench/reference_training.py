"""Benchmark: batched (vmap) vs sequential training of MLP reference models on Adult.

Adult (one-hot + standardised), a 10,000-row pool, each model an MLP in-64-64-2 trained with
Adam (lr 1e-3, batch 128) on its own random half of the pool; every model's logits on the whole
pool are kept (what LiRA needs). Prints one JSON object on the last line:

    {"adult_mlp_16": {"batched_s", "sequential_s", "ratio", ...}, "adult_mlp_64": {...}}

``ratio`` = sequential_s / batched_s (higher is better for batching). Other benchmarks import
``measure``: ``sys.path.insert(0, "tools/bench"); from reference_training import measure``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from leakrange.datasets import load_dataset
from leakrange.models import TrainRecipe, pick_device, train_reference_logits, zoo_spec

POOL_SIZE = 10_000


def measure(n_models: int, epochs: int, device: torch.device | None = None) -> dict[str, float]:
    """Train ``n_models`` reference MLPs both ways; wall-clock seconds and their ratio."""
    dev = device or pick_device()
    adult = load_dataset("adult")
    rng = np.random.default_rng(0)
    pool = rng.permutation(len(adult))[:POOL_SIZE]
    x, y = adult.x[pool], adult.y[pool]
    masks = np.zeros((n_models, POOL_SIZE), dtype=bool)
    for m in range(n_models):
        masks[m, rng.permutation(POOL_SIZE)[: POOL_SIZE // 2]] = True
    spec = zoo_spec("mlp", adult.input_shape, adult.num_classes)
    recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=epochs)
    seeds = list(range(n_models))

    timings: dict[str, float] = {}
    logits: dict[str, np.ndarray] = {}
    for strategy in ("batched", "sequential"):
        # Warm-up (first-call allocations and kernel selection) outside the timed run.
        warm = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=1)
        train_reference_logits(
            spec, warm, x[:256], y[:256], np.ones((2, 256), dtype=bool), x[:8], seeds=[0, 1],
            strategy=strategy, device=dev,
        )  # fmt: skip
        _sync(dev)
        start = time.perf_counter()
        logits[strategy] = train_reference_logits(
            spec, recipe, x, y, masks, x, seeds=seeds, strategy=strategy, device=dev
        )
        _sync(dev)
        timings[strategy] = time.perf_counter() - start
    return {
        "batched_s": round(timings["batched"], 3),
        "sequential_s": round(timings["sequential"], 3),
        "ratio": round(timings["sequential"] / timings["batched"], 2),
        "models": n_models,
        "epochs": epochs,
        "records_per_model": POOL_SIZE // 2,
        "max_abs_logit_diff": float(np.abs(logits["batched"] - logits["sequential"]).max()),
        "device": str(dev),
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs instead of 10")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    epochs = 2 if args.quick else 10
    results = {f"adult_mlp_{n}": measure(n, epochs) for n in (16, 64)}
    for name, result in results.items():
        print(
            f"{name}: batched {result['batched_s']} s, sequential {result['sequential_s']} s, "
            f"ratio {result['ratio']}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
