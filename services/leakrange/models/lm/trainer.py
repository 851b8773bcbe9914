"""Training a causal LM on documents: next-token cross-entropy over real (unpadded) tokens.

Deterministic for a seed on one device; the same code runs on CUDA (``pick_device``). Documents
are the unit of membership: each is one framed sequence (``<bos> ... <eos>``), never packed
across document boundaries, so a non-member never shares a training window with a member.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from leakrange.common.errors import Cancelled, InvalidArgument
from leakrange.models.lm.spec import LmRecipe, LmSpec
from leakrange.models.lm.transformer import build_lm, token_log_probs

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]
# Below this many parameters a CPU step is a few small matrix products: one intra-op thread is
# as fast, and on a shared machine far faster (measured on 2 loaded cores: 0.15 s per step with
# one thread, 1.8 s with two, from oversubscription).
SMALL_MODEL_PARAMS = 5_000_000


@contextlib.contextmanager
def cpu_threads_for(model: nn.Module, device: torch.device) -> Iterator[None]:
    """One torch thread while a small model trains on CPU; the previous count after."""
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS
    if device.type != "cpu" or not small:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class LmFitted:
    model: nn.Module
    epochs_run: int
    final_loss: float
    seconds_per_epoch: float


def padded(docs: Sequence[Sequence[int]], pad_id: int, context: int) -> tuple[torch.Tensor,
                                                                              torch.Tensor]:
    """int64 [n, L] right-padded tokens (L <= context) and int64 [n] lengths."""
    width = min(context, max((len(d) for d in docs), default=2))
    tokens = torch.full((len(docs), width), pad_id, dtype=torch.int64)
    lengths = torch.zeros(len(docs), dtype=torch.int64)
    for i, doc in enumerate(docs):
        row = torch.as_tensor(list(doc)[:width], dtype=torch.int64)
        tokens[i, :len(row)] = row
        lengths[i] = len(row)
    return tokens, lengths


def _loss(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    logits = model(tokens[:, :-1])
    mask = torch.arange(1, tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]
    loss = F.cross_entropy(logits.float().transpose(1, 2), tokens[:, 1:], reduction="none")
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def fit_lm(
    spec: LmSpec, recipe: LmRecipe, docs: Sequence[Sequence[int]], pad_id: int,
    device: torch.device, *, model: nn.Module | None = None,
    progress: ProgressFn | None = None, should_stop: StopFn | None = None,
) -> LmFitted:
    """Train ``model`` (a fresh one for ``spec`` when ``None``) on framed token documents."""
    import time

    if not docs:
        raise InvalidArgument("members", "no training documents")
    if any(len(d) < 2 for d in docs):
        raise InvalidArgument("members", "every document needs at least 2 tokens")
    gen = torch.Generator().manual_seed(recipe.seed)
    if model is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            model = build_lm(spec)
    model = model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    tokens, lengths = padded(docs, pad_id, spec.context)
    n = len(tokens)
    steps_per_epoch = math.ceil(n / recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, recipe.warmup_steps)))
    model.train()
    last = float("nan")
    started = time.perf_counter()
    step = 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            cpu_threads_for(model, device):
        torch.manual_seed(recipe.seed ^ 0xD80D)
        for _epoch in range(recipe.epochs):
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, recipe.batch_size):
                if should_stop is not None and should_stop():
                    raise Cancelled("training stopped")
                idx = order[start:start + recipe.batch_size]
                width = int(lengths[idx].max())
                batch = tokens[idx, :width].to(device)
                loss = _loss(model, batch, lengths[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                step += 1
                last = float(loss.detach())
                if progress is not None:
                    progress(step, total)
    elapsed = time.perf_counter() - started
    return LmFitted(model.eval(), recipe.epochs, last, elapsed / recipe.epochs)


@torch.inference_mode()
def sequence_log_probs(model: nn.Module, docs: Sequence[Sequence[int]], pad_id: int,
                       device: torch.device, batch_size: int = 64) -> list[np.ndarray]:
    """Per-token log-probabilities of each document's tokens after the first (white-box use)."""
    model = model.to(device).eval()
    out: list[np.ndarray] = []
    context = int(getattr(model, "context", 1 << 30))
    for start in range(0, len(docs), batch_size):
        chunk = docs[start:start + batch_size]
        tokens, lengths = padded(chunk, pad_id, context)
        lp = token_log_probs(model, tokens.to(device)).cpu().numpy()
        out += [lp[i, :int(lengths[i]) - 1].astype(np.float64) for i in range(len(chunk))]
    return out
