"""Benchmark: reference-model training, one process one model at a time vs the chosen strategy.

Adult MLPs (in-64-64-2, Adam lr 1e-3, batch 128, a 10,000-row pool) and mnist5k CNNs
(conv16-conv32-fc10, batch 64, the 5,000-image pool); each model trains on its own random half
of the pool and its logits on the whole pool are kept (what LiRA needs). ``sequential`` = one
process, one torch thread, one model after another (the old behaviour); ``batched`` = the
stacked kernels (``stacked_nets``) in one process, one thread; ``batched_workers`` = the same in
one worker process per core; ``chosen`` = the one of these ``auto`` picks (kernel per model
family and device, workers or not). Each gets ``*_wall_s``, ``*_cpu_s`` (this process plus its
workers' own reports: what a loaded machine measures fairly), ``*_load_1min`` (the load average
as it started) and ``*_worker_peak_rss_mb``; ``cpu_ratio_*`` compare the work within the run.
``matmul_gflops`` is the machine's float32 matmul throughput measured in the same run with the
same cores (1024x1024 products in ``cores`` processes' worth of threads), and
``achieved_fraction`` the training's estimated FLOP rate (6 x parameters x samples seen, i.e.
forward + backward, for the MLP; convolutions counted the same way from their MAC counts) over it.

Measured 2026-12-02 on the 2-core dev machine (Xeon, AVX-512), shared with other jobs at load
8-22, so CPU seconds (this process + its workers' own reports) are the figures that count;
wall seconds there are several times what a quiet machine takes:

- ``--epochs 2 --mlps 16 64 --cnns``: 16 Adult MLPs: CPU s sequential 1.17 / batched 0.42 /
  batched in 2 workers 0.55 (load 9.5); 64 MLPs: 4.20 / 1.35 / 2.04 (load 9.2); logits within
  1.7e-4 of sequential. ``--epochs 1 --mlps --cnns 16``: 16 MNIST CNNs: 25.9 / 13.4 / 14.1
  (load 8-11), logits within 1.7e-3; worker peak RSS 667 MiB.
- ``mia.py --targets adult_mlp --attacks lira_online_16 lira_online_1024_1epoch --threads 2``:
  LiRA-online-16 on Adult 12.0 CPU s end to end (AUC 0.571, TPR 2.1 % at 1 % FPR; 132.5 s wall
  at load 16). 1,024 Adult references (1 epoch; masks drawn block-wise): attack process peak
  RSS 615 MiB, both workers together 297 MiB PSS (410 MiB peak RSS each, torch's shared pages
  included), 21.8 CPU s (load 15.9); at 16 references the attack process peaked at 531 MiB.
- ``mia.py --targets mnist_cnn --attacks lira_online_16 --threads 2``: LiRA-online-16 on the
  MNIST CNN 239.8 CPU s end to end (was about 390 CPU s at one thread: 1.6x less work; AUC
  0.579, TPR 2.4 % at 1 % FPR, 0.4 % at 0.1 %), 1,904 s wall at load 17; on a quiet 2-core
  machine that is about 120 s at best: the < 60 s goal is missed by about 2x.

Prints one JSON object on the last line: {"adult_mlp_16": {...}, ..., "mnist_cnn_64": {...}}.
Other benchmarks import ``measure``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch

from leakrange.datasets import load_dataset
from leakrange.models import (
    ModelSpec,
    TrainRecipe,
    build_model,
    pick_device,
    train_reference_logits,
    zoo_spec,
)
from leakrange.models.batched_trainer import resolve_strategy, resolve_workers
from leakrange.models.cpu_budget import available_cores
from leakrange.models.reference_workers import WorkerUsage, warm_up_workers

POOL = {"mlp": ("adult", 10_000, 128), "cnn": ("mnist5k", 5_000, 64)}


def matmul_gflops(cores: int, seconds: float = 1.0) -> float:
    """float32 GFLOP/s of 1024x1024 matmuls with ``cores`` threads."""
    old = torch.get_num_threads()
    torch.set_num_threads(cores)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        calls += 1
    torch.set_num_threads(old)
    return 2 * 1024**3 * calls / (time.perf_counter() - start) / 1e9


def _macs_per_sample(kind: str, spec_model: torch.nn.Module, input_shape: tuple[int, ...]) -> float:
    if kind == "mlp":
        return float(sum(p.numel() for p in spec_model.parameters()))
    macs = 0.0
    hooks = []

    def conv_hook(mod: torch.nn.Module, _inp: object, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(mod, torch.nn.Conv2d):
            macs += out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, torch.nn.Linear):
            macs += mod.in_features * mod.out_features

    for mod in spec_model.modules():
        hooks.append(mod.register_forward_hook(conv_hook))
    spec_model(torch.zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    return macs


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _run_variant(spec: ModelSpec, recipe: TrainRecipe, x: np.ndarray, y: np.ndarray,
                 masks: np.ndarray, kernel: str, workers: int,
                 dev: torch.device) -> tuple[dict[str, float], np.ndarray]:
    """Wall and CPU seconds (this process + its workers) of one strategy, after a warm-up."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread per process: the workers add the other cores
    try:
        train_reference_logits(spec, TrainRecipe(epochs=1, batch_size=recipe.batch_size),
                               x[:256], y[:256], np.ones((2, 256), dtype=bool), x[:8],
                               seeds=[0, 1], strategy=kernel, device=dev,  # type: ignore[arg-type]
                               workers=workers)
        usage = WorkerUsage()
        load, cpu0, start = os.getloadavg()[0], _cpu_seconds(), time.perf_counter()
        logits = train_reference_logits(spec, recipe, x, y, masks, x,
                                        seeds=list(range(len(masks))),
                                        strategy=kernel, device=dev,  # type: ignore[arg-type]
                                        workers=workers, usage=usage)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu0 + usage.total_cpu_s
    finally:
        torch.set_num_threads(old)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_1min": round(load, 2),
            "models_per_s": round(len(masks) / wall, 3),
            "worker_peak_rss_mb": round(usage.max_peak_rss_mb, 1),
            "workers_pss_mb": round(usage.total_pss_mb, 1)}, logits


def measure(kind: str, n_models: int, epochs: int, cores: int | None = None,
            device: torch.device | None = None) -> dict[str, object]:
    """Sequential vs batched (one process) vs batched in workers vs what ``auto`` picks."""
    dev = device or pick_device()
    cores = cores or available_cores()
    name, size, batch = POOL[kind]
    data = load_dataset(name)
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(data.y))[:size]
    x, y = data.x[rows], data.y[rows]
    masks = np.stack([rng.permutation(size) < size // 2 for _ in range(n_models)])
    spec = zoo_spec(kind, data.input_shape, data.num_classes)
    recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=batch, epochs=epochs)
    kernel = resolve_strategy(spec, "auto", dev)
    workers = resolve_workers(dev, cores, n_models, spec)
    if dev.type == "cpu" and cores > 1:
        warm_up_workers()
    variants = {"sequential": ("sequential", 1), "batched": ("batched", 1)}
    if dev.type == "cpu" and cores > 1:
        variants["batched_workers"] = ("batched", min(cores, n_models))
    if (kernel, workers) not in variants.values():
        variants["auto"] = (kernel, workers)
    runs: dict[str, dict[str, float]] = {}
    logits: dict[str, np.ndarray] = {}
    for label, (strat, w) in variants.items():
        runs[label], logits[label] = _run_variant(spec, recipe, x, y, masks, strat, w, dev)
    chosen = next(label for label, v in variants.items() if v == (kernel, workers))
    macs = _macs_per_sample(kind, build_model(spec), tuple(spec.input_shape))
    flops = 6.0 * macs * (size // 2) * epochs * n_models
    peak = matmul_gflops(cores) if dev.type == "cpu" else float("nan")
    seq, best = runs["sequential"], runs[chosen]
    return {
        "models": n_models, "epochs": epochs, "cores": cores, "device": str(dev),
        "kernel": kernel, "workers": workers, "chosen": chosen, **{
            f"{label}_{key}": value for label, run in runs.items() for key, value in run.items()
        },
        "sequential_s": seq["wall_s"], "chosen_s": best["wall_s"],
        "speedup": round(seq["wall_s"] / best["wall_s"], 2),
        # CPU seconds are what a loaded machine measures fairly: the work each strategy does.
        "cpu_ratio_sequential_over_batched": round(seq["cpu_s"] / runs["batched"]["cpu_s"], 2),
        **({"cpu_ratio_workers_over_batched": round(
            runs["batched_workers"]["cpu_s"] / runs["batched"]["cpu_s"], 2)}
           if "batched_workers" in runs else {}),
        "sequential_models_per_s": seq["models_per_s"], "chosen_models_per_s": best["models_per_s"],
        "matmul_gflops": round(peak, 1),
        "achieved_fraction": round(flops / best["wall_s"] / 1e9 / peak, 4),
        "max_abs_logit_diff": float(np.abs(logits[chosen] - logits["sequential"]).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cores", type=int, default=0, help="0: what this process is given")
    parser.add_argument("--mlps", type=int, nargs="*", default=[16, 64, 256])
    parser.add_argument("--cnns", type=int, nargs="*", default=[16, 64])
    parser.add_argument("--device", default="", help="cpu or cuda (default: pick_device)")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else None
    results: dict[str, object] = {}
    for kind, counts in (("mlp", args.mlps), ("cnn", args.cnns)):
        for n in counts:
            key = f"{'adult_mlp' if kind == 'mlp' else 'mnist_cnn'}_{n}"
            results[key] = measure(kind, n, args.epochs, args.cores or None, device)
            print(f"{key}: {json.dumps(results[key])}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
