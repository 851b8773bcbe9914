"""The number format the stacked reference-model kernels compute in: float32 or bfloat16.

``bfloat16`` is mixed precision: the master weights, the gradients the optimiser sees and its
Adam/SGD state stay float32; each step casts the weights and the batch to bfloat16 inside the
autograd graph, the convolutions and matmuls (forward and backward) run in bfloat16 with
float32 accumulation, and the loss is taken in float32 from the bfloat16 logits. Evaluation
(the logits the attacks score) always runs in float32 on the float32 weights, so bfloat16
changes how the references train, not how their outputs are read.

``auto`` picks bfloat16 only where the CPU runs it in hardware on AMX tiles (Intel Sapphire
Rapids and later: ``amx_bf16`` / ``amx_tile`` with ``avx512_bf16``), where oneDNN's bfloat16
convolutions are several times faster than float32; everywhere else (no AMX, as on most CI
machines; CUDA, not measured yet) float32. Measured on the 2-core dev Xeon (AMX, 2026-12-02,
torch 2.13, one thread, CPU milliseconds per model and step, MNIST CNN conv16-conv32-fc10,
batch 64, channels-last, grouped convolution over 8 models): float32 10.9, bfloat16 autocast
5.3, bfloat16 casts in the graph (this module) 5.3; 16 models per call 13.0 / 5.5 / 5.4; NCHW
16.3 / 14.6 (bfloat16 needs channels-last); convolution as im2col + bmm 45.0 / 29.5 / 26.9.
Adult MLPs (16 stacked, batch 128) 4.5 / 2.2 ms per step. See ``batched_trainer`` and
``tools/bench/reference_training.py`` for the end-to-end figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from leakrange.common.errors import InvalidArgument

Precision = Literal["auto", "float32", "bfloat16"]


@dataclass(frozen=True)
class CpuCapability:
    """What the CPU can run in hardware, as torch reports it."""

    amx_tile: bool
    avx512_bf16: bool

    @property
    def fast_bfloat16(self) -> bool:
        """bfloat16 matmuls and convolutions on AMX tiles (oneDNN's fast path)."""
        return self.amx_tile and self.avx512_bf16


def _probe(name: str) -> bool:
    probe: Callable[[], bool] | None = getattr(torch.cpu, name, None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def detect_cpu_capability() -> CpuCapability:
    """This machine's CPU capability from torch's own probes (False where torch lacks one)."""
    return CpuCapability(amx_tile=_probe("_is_amx_tile_supported"),
                         avx512_bf16=_probe("_is_avx512_bf16_supported"))


def resolve_precision(
    precision: str, device: torch.device, capability: CpuCapability | None = None
) -> torch.dtype:
    """The compute dtype ``precision`` stands for on ``device``; ``capability`` defaults to
    this machine's (``detect_cpu_capability``), and is only consulted for ``auto`` on CPU."""
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision != "auto":
        raise InvalidArgument("precision", "must be auto, float32 or bfloat16")
    if device.type != "cpu":
        return torch.float32
    cap = capability if capability is not None else detect_cpu_capability()
    return torch.bfloat16 if cap.fast_bfloat16 else torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    """``float32`` / ``bfloat16``: how results and task documents name a compute dtype."""
    return str(dtype).removeprefix("torch.")


def dtype_from_name(name: str) -> torch.dtype:
    if name not in ("float32", "bfloat16"):
        raise InvalidArgument("compute_dtype", "must be float32 or bfloat16")
    return torch.float32 if name == "float32" else torch.bfloat16
