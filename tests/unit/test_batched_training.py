"""Many reference models at once: batched (vmap) vs sequential, masks, progress, cancellation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leakrange.common.errors import Cancelled, InvalidArgument
from leakrange.datasets import load_dataset
from leakrange.models import (
    TrainRecipe,
    resolve_strategy,
    spec_from_name_or_json,
    train_reference_logits,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def adult_pool():
    """2,000 Adult rows for training masks plus 1,000 held-out rows for evaluation."""
    adult = load_dataset("adult")
    rows = np.random.default_rng(0).permutation(len(adult))[:3_000]
    return (
        adult.x[rows[:2_000]],
        adult.y[rows[:2_000]],
        adult.x[rows[2_000:]],
        adult.y[rows[2_000:]],
    )


def half_masks(n_models: int, n_records: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = np.zeros((n_models, n_records), dtype=bool)
    for m in range(n_models):
        masks[m, rng.permutation(n_records)[: n_records // 2]] = True
    return masks


def accuracies(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (logits.argmax(axis=-1) == labels[None, :]).mean(axis=1)


def per_record_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of every model on every record: [models, records]."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[None, :, None], axis=-1)[..., 0]


def test_auto_strategy():
    assert resolve_strategy(spec_from_name_or_json("mlp", [108], 2), "auto") == "batched"
    assert resolve_strategy(spec_from_name_or_json("logreg", [108], 2), "auto") == "batched"
    cnn = spec_from_name_or_json("cnn", [1, 8, 8], 10)
    # Grouped convolutions beat a loop of single models on CPU too (batched_trainer docstring).
    assert resolve_strategy(cnn, "auto") == "batched"
    assert resolve_strategy(cnn, "auto", CPU) == "batched"
    assert resolve_strategy(cnn, "auto", torch.device("cuda")) == "batched"
    assert resolve_strategy(cnn, "sequential", CPU) == "sequential"


def test_batched_matches_sequential_on_equal_size_masks(adult_pool):
    x, y, eval_x, eval_y = adult_pool
    spec = spec_from_name_or_json("mlp", [108], 2)
    recipe = TrainRecipe(epochs=4, batch_size=64, lr=3e-3)
    masks = half_masks(4, len(x), seed=1)
    kwargs = {"seeds": [10, 11, 12, 13], "device": CPU}
    batched = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="batched", **kwargs
    )
    sequential = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="sequential", **kwargs
    )
    assert batched.shape == (4, 1_000, 2) and batched.dtype == np.float32
    # Same init, same batches, elementwise Adam: the same models up to float rounding.
    np.testing.assert_allclose(batched, sequential, atol=1e-3)
    acc_b, acc_s = accuracies(batched, eval_y), accuracies(sequential, eval_y)
    assert np.all(acc_b > 0.78)
    assert np.all(np.abs(acc_b - acc_s) < 0.02)
    # Different seeds / masks give different models.
    assert not np.allclose(batched[0], batched[1], atol=1e-3)
    again = train_reference_logits(spec, recipe, x, y, masks, eval_x, strategy="batched", **kwargs)
    assert np.array_equal(again, batched)


def test_batched_handles_unequal_training_sets(adult_pool):
    x, y, eval_x, eval_y = adult_pool
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    recipe = TrainRecipe(epochs=4, batch_size=64, lr=3e-3)
    rng = np.random.default_rng(2)
    masks = np.zeros((3, len(x)), dtype=bool)
    for m, size in enumerate((400, 1_000, 1_600)):
        masks[m, rng.permutation(len(x))[:size]] = True
    common = {"seeds": [0, 1, 2], "device": CPU, "chunk_size": 3}
    batched = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="batched", **common
    )
    sequential = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="sequential", **common
    )
    acc_b, acc_s = accuracies(batched, eval_y), accuracies(sequential, eval_y)
    assert np.all(acc_b > 0.75)
    assert np.all(np.abs(acc_b - acc_s) < 0.04)


def test_each_model_only_learns_its_own_mask(adult_pool):
    # Random labels can only be memorised: a model is right on its own members and at chance
    # elsewhere, so any leak of another model's records into its batches would show.
    x = adult_pool[0][:400]
    y = np.random.default_rng(3).integers(0, 2, size=len(x))
    spec = spec_from_name_or_json("mlp-wide", [108], 2)
    recipe = TrainRecipe(epochs=25, batch_size=32, lr=3e-3)
    masks = half_masks(4, len(x), seed=3)
    logits = train_reference_logits(spec, recipe, x, y, masks, x, seeds=range(4), device=CPU)
    correct = logits.argmax(axis=-1) == y[None, :]
    for m in range(4):
        assert correct[m][masks[m]].mean() > 0.95
        assert correct[m][~masks[m]].mean() < 0.65
    # Per record: lower loss under the models that trained on it (what LiRA relies on).
    losses = per_record_loss(logits, y)
    both = masks.any(axis=0) & (~masks).any(axis=0)
    in_loss = np.nanmean(np.where(masks, losses, np.nan)[:, both], axis=0)
    out_loss = np.nanmean(np.where(~masks, losses, np.nan)[:, both], axis=0)
    assert both.sum() > 300
    assert (in_loss < out_loss).mean() > 0.85


def test_cnn_batched_and_sequential_agree_on_digits():
    digits = load_dataset("digits")
    x, y = digits.x[:300], digits.y[:300]
    spec = spec_from_name_or_json("cnn", list(digits.input_shape), 10)
    recipe = TrainRecipe(epochs=1, batch_size=50)
    masks = half_masks(2, len(x), seed=4)
    kwargs = {"seeds": [1, 2], "device": CPU}
    batched = train_reference_logits(
        spec, recipe, x, y, masks, x[:50], strategy="batched", **kwargs
    )
    sequential = train_reference_logits(spec, recipe, x, y, masks, x[:50],
                                        strategy="sequential", **kwargs)
    assert batched.shape == (2, 50, 10)
    np.testing.assert_allclose(batched, sequential, atol=1e-3)


def test_cnn_groups_and_dropout_train_each_model_on_its_own_mask():
    """More CNNs than one grouped-convolution call holds (two groups), and dropout: the
    stacked kernel still trains each model as its own (same init and batches as sequential)."""
    digits = load_dataset("digits")
    x, y = digits.x[:120], digits.y[:120]
    spec = spec_from_name_or_json('{"kind": "cnn", "channels": [4], "kernel_size": 3}',
                                  list(digits.input_shape), 10)
    recipe = TrainRecipe(epochs=1, batch_size=40)
    masks = half_masks(10, len(x), seed=6)
    kwargs = {"seeds": list(range(10)), "device": CPU}
    batched = train_reference_logits(spec, recipe, x, y, masks, x[:20], strategy="batched",
                                     **kwargs)
    sequential = train_reference_logits(spec, recipe, x, y, masks, x[:20],
                                        strategy="sequential", **kwargs)
    np.testing.assert_allclose(batched, sequential, atol=1e-3)
    dropout = spec.model_copy(update={"dropout": 0.5})
    noisy = train_reference_logits(dropout, recipe.model_copy(update={"epochs": 3}), x, y,
                                   masks, x[:20], strategy="batched", **kwargs)
    assert noisy.shape == (10, 20, 10) and np.isfinite(noisy).all()
    assert not np.allclose(noisy[0], noisy[1])  # different seeds, different models


@pytest.mark.parametrize("strategy", ["batched", "sequential"])
def test_progress_reports_models_done(adult_pool, strategy):
    x, y, eval_x, _ = adult_pool
    spec = spec_from_name_or_json("logreg", [108], 2)
    calls: list[tuple[int, int]] = []
    train_reference_logits(
        spec,
        TrainRecipe(epochs=1, batch_size=256),
        x[:200],
        y[:200],
        half_masks(5, 200, seed=5),
        eval_x[:10],
        seeds=range(5),
        chunk_size=2,
        strategy=strategy,
        device=CPU,
        progress=lambda done, total: calls.append((done, total)),
    )
    if strategy == "batched":
        assert calls == [(2, 5), (4, 5), (5, 5)]
    else:
        assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


@pytest.mark.parametrize("strategy", ["batched", "sequential"])
def test_cancellation_raises_cancelled(adult_pool, strategy):
    x, y, eval_x, _ = adult_pool
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    checks = iter(range(1_000))
    calls: list[tuple[int, int]] = []
    with pytest.raises(Cancelled, match=r"^training cancelled$"):
        train_reference_logits(
            spec,
            TrainRecipe(epochs=5, batch_size=64),
            x,
            y,
            half_masks(4, len(x), seed=6),
            eval_x,
            seeds=range(4),
            chunk_size=2,
            strategy=strategy,
            device=CPU,
            progress=lambda done, total: calls.append((done, total)),
            should_stop=lambda: next(checks) >= 20,
        )
    assert calls == []


def test_input_validation(adult_pool):
    x, y, eval_x, _ = adult_pool
    spec = spec_from_name_or_json("logreg", [108], 2)
    recipe = TrainRecipe(epochs=1)
    masks = half_masks(2, len(x), seed=7)
    cases = [
        ({"train_masks": masks.astype(int)}, "train_masks"),
        ({"train_masks": masks[:, :10]}, "train_masks"),
        ({"train_masks": np.zeros((2, len(x)), dtype=bool)}, "train_masks"),
        ({"seeds": [1]}, "seeds"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"eval_x": eval_x[:, :5]}, "x"),
    ]
    for override, field in cases:
        args = {"train_masks": masks, "eval_x": eval_x, "seeds": [1, 2], "chunk_size": 4}
        args.update(override)
        with pytest.raises(InvalidArgument) as err:
            train_reference_logits(spec, recipe, x, y, device=CPU, **args)
        assert err.value.field == field


@pytest.mark.requires_gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batched_matches_sequential(adult_pool):
    x, y, eval_x, eval_y = adult_pool
    spec = spec_from_name_or_json("mlp", [108], 2)
    recipe = TrainRecipe(epochs=4, batch_size=64, lr=3e-3)
    masks = half_masks(4, len(x), seed=1)
    kwargs = {"seeds": [10, 11, 12, 13], "device": torch.device("cuda")}
    batched = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="batched", **kwargs
    )
    again = train_reference_logits(spec, recipe, x, y, masks, eval_x, strategy="batched", **kwargs)
    sequential = train_reference_logits(
        spec, recipe, x, y, masks, eval_x, strategy="sequential", **kwargs
    )
    assert np.array_equal(again, batched)
    np.testing.assert_allclose(batched, sequential, atol=1e-2)
    acc_b, acc_s = accuracies(batched, eval_y), accuracies(sequential, eval_y)
    assert np.all(np.abs(acc_b - acc_s) < 0.02)


@pytest.mark.requires_gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_grouped_convolutions_match_sequential_cnns():
    """The stacked CNN kernel on CUDA (one grouped convolution for every model of the chunk):
    repeatable, and the same models as training them one by one on the GPU."""
    digits = load_dataset("digits")
    x, y = digits.x[:300], digits.y[:300]
    spec = spec_from_name_or_json("cnn", list(digits.input_shape), 10)
    recipe = TrainRecipe(epochs=2, batch_size=50)
    masks = half_masks(12, len(x), seed=8)
    kwargs = {"seeds": list(range(12)), "device": torch.device("cuda")}
    batched = train_reference_logits(spec, recipe, x, y, masks, x[:50], strategy="batched",
                                     **kwargs)
    again = train_reference_logits(spec, recipe, x, y, masks, x[:50], strategy="batched",
                                   **kwargs)
    sequential = train_reference_logits(spec, recipe, x, y, masks, x[:50],
                                        strategy="sequential", **kwargs)
    assert np.array_equal(again, batched)
    np.testing.assert_allclose(batched, sequential, atol=1e-2)


def test_stacked_sgd_with_momentum_and_weight_decay_matches_sequential(adult_pool):
    """The stacked kernels step with torch's fused SGD: the same update as each model's own."""
    x, y, eval_x, _ = adult_pool
    spec = spec_from_name_or_json("mlp-small", [108], 2)
    recipe = TrainRecipe(optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-3, epochs=2,
                         batch_size=64, label_smoothing=0.1)
    masks = half_masks(3, 400, seed=9)
    kwargs = {"seeds": [5, 6, 7], "device": CPU}
    batched = train_reference_logits(spec, recipe, x[:400], y[:400], masks, eval_x[:100],
                                     strategy="batched", **kwargs)
    sequential = train_reference_logits(spec, recipe, x[:400], y[:400], masks, eval_x[:100],
                                        strategy="sequential", **kwargs)
    np.testing.assert_allclose(batched, sequential, atol=1e-4)
