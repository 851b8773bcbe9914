"""Reference training in worker processes, the core budget, and shard-wise statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leakrange.attacks.mia.reference_stats import MaskedMoments, RunningMean
from leakrange.common.errors import Cancelled
from leakrange.datasets import load_dataset
from leakrange.models import TrainRecipe, spec_from_name_or_json, train_reference_logits
from leakrange.models.batched_trainer import iter_reference_logits, resolve_workers
from leakrange.models.cpu_budget import available_cores, cgroup_quota_cores

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def pool():
    adult = load_dataset("adult")
    rows = np.random.default_rng(0).permutation(len(adult.y))[:600]
    return adult.x[rows], adult.y[rows]


def _masks(models: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(4)
    return np.stack([rng.permutation(n) < n // 2 for _ in range(models)])


@pytest.mark.parametrize("kernel", ["sequential", "batched"])
def test_worker_processes_train_the_same_models(pool, kernel):
    x, y = pool
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    recipe = TrainRecipe(epochs=2, batch_size=64, lr=3e-3)
    masks = _masks(5, len(x))
    common = {"seeds": [3, 4, 5, 6, 7], "strategy": kernel, "device": CPU, "chunk_size": 2}
    calls: list[tuple[int, int]] = []
    here = train_reference_logits(spec, recipe, x, y, masks, x[:50], **common)
    there = train_reference_logits(spec, recipe, x, y, masks, x[:50], workers=2,
                                   progress=lambda d, t: calls.append((d, t)), **common)
    assert there.shape == (5, 50, 2)
    if kernel == "sequential":  # the same single-thread kernels, model by model
        np.testing.assert_array_equal(there, here)
    else:  # vmap chunks split differently across the workers: equal up to float rounding
        np.testing.assert_allclose(there, here, atol=1e-4)
    assert calls[-1] == (5, 5) and len(calls) >= 3


def test_worker_ranges_come_back_in_order_and_only_those_asked(pool):
    x, y = pool
    spec = spec_from_name_or_json("logreg", [108], 2)
    out = list(iter_reference_logits(
        spec, TrainRecipe(epochs=1), x, y, _masks(6, len(x)), x[:10], seeds=range(6),
        strategy="sequential", device=CPU, workers=2, ranges=[(4, 6), (0, 2)]))
    assert [(a, b) for a, b, _ in out] == [(4, 6), (0, 2)]
    assert all(logits.shape == (2, 10, 2) for _, _, logits in out)


def test_worker_training_can_be_cancelled(pool):
    x, y = pool
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    checks = iter(range(10_000))
    with pytest.raises(Cancelled):
        train_reference_logits(spec, TrainRecipe(epochs=500), x, y, _masks(4, len(x)), x[:5],
                               seeds=range(4), strategy="sequential", device=CPU, workers=2,
                               should_stop=lambda: next(checks) >= 3)


def test_workers_fill_the_cpu_cores_and_one_process_drives_a_gpu():
    assert resolve_workers(CPU, cores=4, n_models=16) == 4
    assert resolve_workers(CPU, cores=4, n_models=2) == 2
    assert resolve_workers(CPU, cores=1, n_models=16) == 1
    assert resolve_workers(torch.device("cuda"), cores=8, n_models=16) == 1


def test_cores_follow_the_cgroup_quota(tmp_path):
    assert cgroup_quota_cores(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota_cores(tmp_path) == 1.5
    assert available_cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota_cores(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_quota_cores(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    assert cgroup_quota_cores(v1) == 3.0


def test_moments_merged_shard_by_shard_equal_the_one_shot_ones():
    rng = np.random.default_rng(1)
    values = rng.normal(3, 2, (70, 30))
    mask = rng.random((70, 30)) < 0.5
    whole = MaskedMoments.zeros(30)
    whole.add(values, mask)
    parts = MaskedMoments.zeros(30)
    mean = RunningMean.zeros(30)
    for a in range(0, 70, 16):
        parts.add(values[a:a + 16], mask[a:a + 16])
        mean.add(values[a:a + 16])
    np.testing.assert_allclose(parts.mean, whole.mean)
    np.testing.assert_allclose(parts.variance(), whole.variance())
    np.testing.assert_allclose(mean.mean(), values.mean(axis=0))
    expected = [np.var(values[mask[:, j], j], ddof=1) for j in range(30)]
    np.testing.assert_allclose(whole.variance(), expected)


def test_workers_report_their_own_cpu_and_memory(pool):
    """Forkserver workers are not this process's children (RUSAGE_CHILDREN misses them): each
    reports its CPU seconds, peak RSS and PSS as it stops."""
    from leakrange.models.reference_workers import WorkerUsage

    x, y = pool
    usage = WorkerUsage()
    train_reference_logits(spec_from_name_or_json("logreg", [108], 2), TrainRecipe(epochs=1),
                           x, y, _masks(4, len(x)), x[:5], seeds=range(4), device=CPU,
                           workers=2, usage=usage)
    assert len(usage.cpu_s) == len(usage.peak_rss_mb) == len(usage.pss_mb) == 2
    assert all(c > 0 for c in usage.cpu_s) and usage.total_cpu_s == sum(usage.cpu_s)
    assert all(mb > 50 for mb in usage.peak_rss_mb)  # torch is mapped in every worker
    assert usage.total_pss_mb > 0
