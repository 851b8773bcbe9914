"""Holds a served language model: validates token batches, scores them and generates.

Every check runs before the model sees a batch, and every error names its field without
echoing a value: dtype (integers only), rank 2, length within the model's context, ids inside
the vocabulary, lengths within each row, batch size within ``max_batch``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import check_shape, from_proto
from leakrange.models import pick_device
from leakrange.models.lm.lm_io import lm_from_bytes
from leakrange.models.lm.spec import LmSpec
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.v1 import common_pb2

MAX_TEMPERATURE = 2.0
MAX_NEW_TOKENS = 256


@dataclass(frozen=True)
class TokenBatch:
    tokens: np.ndarray  # int64 [batch, length]
    lengths: np.ndarray  # int64 [batch]

    @property
    def charged(self) -> int:
        return int(self.lengths.sum())


@dataclass(frozen=True)
class TokenScores:
    given_log_probs: np.ndarray  # float32 [batch, length - 1]; 0 past each row's end
    top_probs: np.ndarray | None  # float32 [batch, length - 1, k]
    top_ids: np.ndarray | None  # int64 [batch, length - 1, k]


class LmHost:
    """A language model loaded from the store."""

    model_kind = "causal-lm"

    def __init__(self, model: torch.nn.Module, spec: LmSpec, tokenizer: TextTokenizer,
                 ref: ArtifactRef, metadata: dict[str, str], max_batch: int = 4096) -> None:
        if max_batch < 1:
            raise InvalidArgument("max_batch", "must be at least 1")
        self.device = pick_device()
        self.model = model.to(self.device).eval()
        self.spec = spec
        self.tokenizer = tokenizer
        self.ref = ref
        self.metadata = metadata
        self.max_batch = max_batch
        self.max_new_tokens = min(MAX_NEW_TOKENS, spec.context - 1)
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: ArtifactStore, ref: ArtifactRef, max_batch: int = 4096) -> LmHost:
        model, spec, tokenizer, metadata = lm_from_bytes(store.get_bytes(ref))
        return cls(model, spec, tokenizer, ref, metadata, max_batch)

    @property
    def dataset(self) -> str:
        return self.metadata.get("dataset", "")

    @property
    def vocab_size(self) -> int:
        return self.spec.vocab_size

    # -- validation ---------------------------------------------------------------------------
    def batch(self, tokens: common_pb2.Tensor, lengths: common_pb2.Tensor | None, field: str,
              min_length: int) -> TokenBatch:
        """Decode and check a right-padded batch and its lengths (``lengths`` None: full rows)."""
        check_shape(tokens.shape, field)
        if len(tokens.shape) != 2:
            raise InvalidArgument(f"{field}.shape", "expected [batch, length]")
        rows, width = int(tokens.shape[0]), int(tokens.shape[1])
        if rows == 0 or width == 0:
            raise InvalidArgument(field, "empty batch")
        if rows > self.max_batch:
            raise InvalidArgument(f"{field}.shape[0]", f"batch larger than max_batch "
                                                       f"{self.max_batch}")
        if width > self.spec.context:
            raise InvalidArgument(f"{field}.shape[1]", f"longer than the model's context "
                                                       f"{self.spec.context}")
        if width < min_length:
            raise InvalidArgument(f"{field}.shape[1]", f"needs at least {min_length} tokens")
        arr = from_proto(tokens, field, max_elements=self.max_batch * self.spec.context)
        if arr.dtype.kind not in "iu":
            raise InvalidArgument(f"{field}.dtype", "must be integer token ids (int64)")
        arr = arr.astype(np.int64)
        if lengths is not None and (lengths.shape or lengths.data):
            lens = from_proto(lengths, "lengths", max_elements=self.max_batch)
            if lens.dtype.kind not in "iu" or lens.shape != (rows,):
                raise InvalidArgument("lengths", "must be one integer per row")
            lens = lens.astype(np.int64)
        else:
            lens = np.full(rows, width, dtype=np.int64)
        if (lens < min_length).any() or (lens > width).any():
            raise InvalidArgument("lengths", f"each must be between {min_length} and the "
                                             f"row length {width}")
        real = np.arange(width)[None, :] < lens[:, None]
        ids = arr[real]
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise InvalidArgument(field, f"token ids outside the vocabulary [0, "
                                         f"{self.vocab_size})")
        arr = np.where(real, arr, self.tokenizer.pad_id)
        return TokenBatch(arr, lens)

    # -- scoring ------------------------------------------------------------------------------
    def score(self, batch: TokenBatch, top_k: int = 0, chunk: int = 256) -> TokenScores:
        """Given-token log-probs (and the top-k next-token probabilities when top_k > 0)."""
        given, top_p, top_i = [], [], []
        k = min(top_k, self.vocab_size)
        with self._lock, torch.inference_mode():
            for start in range(0, len(batch.tokens), chunk):
                ids = torch.from_numpy(batch.tokens[start:start + chunk]).to(self.device)
                logp = torch.log_softmax(self.model(ids[:, :-1]).float(), dim=-1)
                given.append(logp.gather(2, ids[:, 1:, None]).squeeze(2).cpu())
                if k:
                    values, indices = logp.topk(k, dim=-1)
                    top_p.append(values.exp().cpu())
                    top_i.append(indices.cpu())
        valid = np.arange(batch.tokens.shape[1] - 1)[None, :] < (batch.lengths - 1)[:, None]
        given_np = np.where(valid, torch.cat(given).numpy(), 0.0).astype(np.float32)
        if not k:
            return TokenScores(given_np, None, None)
        probs = np.where(valid[:, :, None], torch.cat(top_p).numpy(), 0.0).astype(np.float32)
        idx = np.where(valid[:, :, None], torch.cat(top_i).numpy(), 0).astype(np.int64)
        return TokenScores(given_np, probs, idx)

    # -- generation ---------------------------------------------------------------------------
    def check_generation(self, batch: TokenBatch, max_new_tokens: int, temperature: float,
                         top_k: int) -> None:
        if not 1 <= max_new_tokens <= self.max_new_tokens:
            raise InvalidArgument("max_new_tokens", f"must be between 1 and "
                                                    f"{self.max_new_tokens}")
        if int(batch.lengths.max()) + max_new_tokens > self.spec.context:
            raise InvalidArgument("max_new_tokens", f"prompt plus continuation exceed the "
                                                    f"model's context {self.spec.context}")
        if not (0.0 <= temperature <= MAX_TEMPERATURE):  # also refuses NaN
            raise InvalidArgument("temperature", f"must be between 0 and {MAX_TEMPERATURE}")
        if not 0 <= top_k <= self.vocab_size:
            raise InvalidArgument("top_k", f"must be between 0 and {self.vocab_size}")

    def generate(self, batch: TokenBatch, max_new_tokens: int, temperature: float, top_k: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Continuations int64 [batch, max_new_tokens] (-1 after eos) and their lengths."""
        rows = len(batch.tokens)
        width = int(batch.lengths.max()) + max_new_tokens
        seq = np.full((rows, width), self.tokenizer.pad_id, dtype=np.int64)
        seq[:, :batch.tokens.shape[1]] = batch.tokens
        cur = batch.lengths.copy()
        out = np.full((rows, max_new_tokens), -1, dtype=np.int64)
        done = np.zeros(rows, dtype=bool)
        gen = torch.Generator().manual_seed(int(seed) % 2**63)
        with self._lock, torch.inference_mode():
            for step in range(max_new_tokens):
                upto = int(cur.max())
                ids = torch.from_numpy(seq[:, :upto]).to(self.device)
                logits = self.model(ids).float()
                last = logits[torch.arange(rows), torch.from_numpy(cur - 1).to(self.device)]
                nxt = _sample(last.cpu(), temperature, top_k, gen)
                nxt = np.where(done, -1, nxt)
                out[:, step] = nxt
                seq[np.arange(rows), cur] = np.where(done, self.tokenizer.pad_id, nxt)
                cur = cur + (~done)
                done |= nxt == self.tokenizer.eos_id
                if done.all():
                    break
        lengths = (out >= 0).sum(axis=1).astype(np.int64)
        return out, lengths


def _sample(logits: torch.Tensor, temperature: float, top_k: int,
            gen: torch.Generator) -> np.ndarray:
    if temperature == 0.0:
        return logits.argmax(dim=-1).numpy().astype(np.int64)
    scaled = logits / temperature
    if top_k:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probs, 1, generator=gen).squeeze(1).numpy().astype(np.int64)


def rows_of(tokens: np.ndarray, lengths: np.ndarray) -> Sequence[list[int]]:
    """Padded rows back to lists of their real tokens."""
    return [tokens[i, :int(n)].tolist() for i, n in enumerate(lengths)]
