"""Reference training in bfloat16 (mixed precision) against float32, and how ``auto`` picks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from leakrange.attacks.mia.lira import LiraParams
from leakrange.attacks.mia.rmia import RmiaParams
from leakrange.common.errors import InvalidArgument
from leakrange.datasets import load_dataset
from leakrange.models import TrainRecipe, spec_from_name_or_json, train_reference_logits
from leakrange.models.precision import (
    CpuCapability,
    detect_cpu_capability,
    dtype_from_name,
    dtype_name,
    resolve_precision,
)

CPU = torch.device("cpu")
AMX = CpuCapability(amx_tile=True, avx512_bf16=True)
NO_AMX = CpuCapability(amx_tile=False, avx512_bf16=True)
NOTHING = CpuCapability(amx_tile=False, avx512_bf16=False)


def test_auto_picks_bfloat16_only_on_a_cpu_with_amx():
    assert resolve_precision("auto", CPU, AMX) == torch.bfloat16
    assert resolve_precision("auto", CPU, NO_AMX) == torch.float32  # AVX512_BF16 alone: no
    assert resolve_precision("auto", CPU, NOTHING) == torch.float32
    assert resolve_precision("auto", CPU, CpuCapability(True, False)) == torch.float32
    # CUDA is not measured yet: float32 whatever the CPU says.
    assert resolve_precision("auto", torch.device("cuda"), AMX) == torch.float32


def test_explicit_precisions_win_over_the_capability():
    assert resolve_precision("float32", CPU, AMX) == torch.float32
    assert resolve_precision("bfloat16", CPU, NOTHING) == torch.bfloat16
    with pytest.raises(InvalidArgument) as err:
        resolve_precision("float16", CPU, AMX)
    assert err.value.field == "precision"


def test_detected_capability_and_dtype_names():
    cap = detect_cpu_capability()
    assert isinstance(cap.amx_tile, bool) and isinstance(cap.avx512_bf16, bool)
    assert resolve_precision("auto", CPU) == (torch.bfloat16 if cap.fast_bfloat16
                                              else torch.float32)
    for dtype in (torch.float32, torch.bfloat16):
        assert dtype_from_name(dtype_name(dtype)) == dtype
    with pytest.raises(InvalidArgument):
        dtype_from_name("float64")


def test_precision_parameter_validates():
    assert LiraParams().precision == "auto"
    assert LiraParams(precision="bfloat16").precision == "bfloat16"
    assert RmiaParams(precision="float32", strategy="sequential").precision == "float32"
    with pytest.raises(ValidationError, match="precision"):
        LiraParams(precision="float16")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="precision bfloat16 needs strategy"):
        LiraParams(precision="bfloat16", strategy="sequential")
    schema = LiraParams.model_json_schema()["properties"]["precision"]
    assert schema["enum"] == ["auto", "float32", "bfloat16"] and schema["default"] == "auto"


@pytest.fixture(scope="module")
def digits_cnns():
    """Three tiny CNNs trained on their own halves of 300 digits, float32 and bfloat16."""
    digits = load_dataset("digits")
    x, y = digits.x[:300], digits.y[:300]
    spec = spec_from_name_or_json('{"kind": "cnn", "channels": [4, 8], "kernel_size": 3}',
                                  list(digits.input_shape), 10)
    rng = np.random.default_rng(3)
    masks = np.stack([rng.permutation(len(x)) < len(x) // 2 for _ in range(3)])
    recipe = TrainRecipe(epochs=2, batch_size=50, lr=3e-3)
    out = {p: train_reference_logits(spec, recipe, x, y, masks, x, seeds=[5, 6, 7],
                                     strategy="batched", device=CPU, precision=p)
           for p in ("float32", "bfloat16")}
    return out, y


def test_bfloat16_cnn_logits_stay_close_to_float32(digits_cnns):
    out, _labels = digits_cnns
    f32, bf16 = out["float32"], out["bfloat16"]
    assert bf16.dtype == np.float32 and bf16.shape == f32.shape == (3, 300, 10)
    assert not np.array_equal(f32, bf16)  # the bfloat16 kernels really ran
    # bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 0.2 %) in every product of
    # 2 epochs of training: the logits stay within 5 % of their range of the float32 ones.
    scale = np.abs(f32).max()
    assert np.abs(f32 - bf16).max() <= 0.05 * scale
    assert (f32.argmax(-1) == bf16.argmax(-1)).mean() > 0.97


def test_bfloat16_training_ranks_members_as_float32_does():
    """Overfit toy: random labels, so only memorisation separates members; each model's
    member scores (margin of the true class) rank the same in both precisions."""
    rng = np.random.default_rng(0)
    x = rng.random((128, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 4, 128)
    spec = spec_from_name_or_json('{"kind": "cnn", "channels": [8, 16], "kernel_size": 3}',
                                  [1, 8, 8], 4)
    masks = np.stack([rng.permutation(128) < 64 for _ in range(2)])
    recipe = TrainRecipe(epochs=60, batch_size=32, lr=1e-2)
    scores = {}
    for p in ("float32", "bfloat16"):
        logits = train_reference_logits(spec, recipe, x, y, masks, x, seeds=[1, 2],
                                        strategy="batched", device=CPU, precision=p)
        true = np.take_along_axis(logits, y[None, :, None], axis=-1)[..., 0]
        other = np.where(np.arange(4)[None, None, :] == y[None, :, None], -np.inf,
                         logits).max(-1)
        scores[p] = true - other
    for m in range(2):
        auc32 = roc_auc_score(masks[m], scores["float32"][m])
        auc16 = roc_auc_score(masks[m], scores["bfloat16"][m])
        assert auc32 > 0.9 and auc16 > 0.9
        assert abs(auc32 - auc16) < 0.05
        assert spearmanr(scores["float32"][m], scores["bfloat16"][m]).statistic > 0.8


def test_sequential_kernel_ignores_precision():
    digits = load_dataset("digits")
    x, y = digits.x[:100], digits.y[:100]
    spec = spec_from_name_or_json("cnn", list(digits.input_shape), 10)
    masks = np.ones((1, 100), dtype=bool)
    recipe = TrainRecipe(epochs=1, batch_size=50)
    runs = [train_reference_logits(spec, recipe, x, y, masks, x[:10], seeds=[0],
                                   strategy="sequential", device=CPU, precision=p)
            for p in ("float32", "bfloat16")]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_fanout_task_carries_the_compute_dtype(tmp_path):
    """Job pods train a shard as the attack would: the task document names the dtype; one
    written before the field existed reads as float32, and an unknown dtype is refused."""
    from leakrange.artifacts import FolderStore
    from leakrange.attacks.mia.reference_task import read_task, write_task

    store = FolderStore(tmp_path)
    spec = spec_from_name_or_json("mlp", [3], 2)
    x, y = np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1])
    kwargs = {"prefix": "cache/t", "spec": spec, "recipe": TrainRecipe(), "pool_x": x,
              "pool_y": y, "eval_x": x, "masks": np.ones((1, 4), bool), "seeds": [0],
              "ranges": [(0, 1)]}
    assert read_task(store, write_task(store, **kwargs, compute_dtype="bfloat16")
                     ).compute_dtype == "bfloat16"
    doc = store.get_json(write_task(store, **kwargs).removeprefix("sha256:"))
    assert doc["compute_dtype"] == "float32"
    del doc["compute_dtype"]
    assert read_task(store, f"sha256:{store.put_json(doc).sha256}").compute_dtype == "float32"
    doc["compute_dtype"] = "float64"
    with pytest.raises(InvalidArgument) as err:
        read_task(store, f"sha256:{store.put_json(doc).sha256}")
    assert err.value.field == "task.compute_dtype"


def test_keep_freed_memory_in_a_fresh_process():
    """It changes the whole process's allocator, so it runs in a child (as in the workers)."""
    import platform
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "from leakrange.models.malloc import "
                          "keep_freed_memory; print(keep_freed_memory())"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == str(platform.libc_ver()[0] == "glibc")
