"""Repeatable training: seeded initialisation without touching the caller's global RNG state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from leakrange.models.spec import ModelSpec
from leakrange.models.zoo import build_model

_SHUFFLE_STREAM = 0x5EED_5EED
_DROPOUT_STREAM = 0xD80D_0D80


def seeded_model(spec: ModelSpec, seed: int, device: torch.device) -> nn.Module:
    """``build_model`` under a forked global RNG seeded with ``seed``: same seed, same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec)
    return model.to(device)


def shuffle_generator(seed: int) -> torch.Generator:
    """The CPU generator that orders a model's training batches (a stream apart from init)."""
    return torch.Generator().manual_seed((seed ^ _SHUFFLE_STREAM) % 2**63)


@contextlib.contextmanager
def deterministic_kernels(device: torch.device, seed: int) -> Iterator[None]:
    """Deterministic kernels and a seeded, forked RNG for dropout; restores the settings after.

    On CPU the kernels used here are already deterministic; on CUDA cuDNN autotuning is turned
    off and deterministic cuDNN kernels are chosen.
    """
    cuda = [device] if device.type == "cuda" else []
    old_benchmark = torch.backends.cudnn.benchmark
    old_deterministic = torch.backends.cudnn.deterministic
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed((seed ^ _DROPOUT_STREAM) % 2**63)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = old_benchmark
            torch.backends.cudnn.deterministic = old_deterministic
