"""What text attacks see of a language-model target: per-token log-probabilities of documents.

The adversary's documents arrive as token ids (the target's public tokenizer) in
``RunContext.extras``. ``LmOracle`` turns whatever the access policy returns into per-token
log-probabilities: exact under ``logits``; ``log p`` of (possibly rounded) probabilities under
``probabilities``; under ``topk:K`` the given token's probability when it is among the top K and
otherwise the top-K remainder spread evenly over the other V - K tokens (an estimate the
attack cannot do better than). Under a white-box policy the weights are loaded from the
adversary's store and everything is computed exactly, without spending budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition
from leakrange.common.threat_model import OutputKind
from leakrange.models import pick_device
from leakrange.models.lm.lm_io import lm_from_bytes
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.target.lm.client import LanguageModelClient, LmDescription

FLOOR = 1e-12
SCORE_OUTPUTS: tuple[OutputKind, ...] = ("logits", "probabilities", "topk")


@dataclass(frozen=True)
class Documents:
    tokens: np.ndarray  # int64 [n, length], right-padded
    lengths: np.ndarray  # int64 [n]

    def __len__(self) -> int:
        return len(self.tokens)

    def rows(self) -> list[list[int]]:
        return [self.tokens[i, :int(n)].tolist() for i, n in enumerate(self.lengths)]

    @property
    def token_count(self) -> int:
        return int(self.lengths.sum())


def documents(ctx: RunContext, which: str = "audit") -> Documents:
    tokens = ctx.extras.get(f"{which}_tokens")
    lengths = ctx.extras.get(f"{which}_lengths")
    if tokens is None or lengths is None:
        if which == "audit":
            raise FailedPrecondition("this attack needs a language-model target (audit "
                                     "documents as tokens)")
        raise FailedPrecondition(f"this attack needs {which} documents (threat_model."
                                 f"knowledge.data_fraction > 0)")
    return Documents(np.asarray(tokens), np.asarray(lengths))


@dataclass(frozen=True)
class TokenStats:
    """Per document: log p of each given token, and the mean and spread of log p under the
    model's next-token distribution at each position (Min-K%++)."""

    log_probs: list[np.ndarray]
    mu: list[np.ndarray]
    sigma: list[np.ndarray]


class LmOracle:
    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self.client = LanguageModelClient(ctx.target)
        self.desc: LmDescription = self.client.describe()
        self._model: torch.nn.Module | None = None

    @property
    def tokenizer(self) -> TextTokenizer:
        return self.desc.tokenizer

    @property
    def white_box(self) -> bool:
        return self.desc.white_box

    def require(self, allowed: tuple[OutputKind, ...], attack: str) -> None:
        """Check the access the target actually grants (not only what the request claims)."""
        if not self.white_box and self.desc.output not in allowed:
            raise FailedPrecondition(f"threat_model.access.output: attack '{attack}' cannot run "
                                     f"on the target's '{self.desc.output}' outputs")

    def ensure_budget(self, tokens: int, attack: str) -> None:
        left = self.desc.remaining_budget
        if not self.white_box and 0 <= left < tokens:
            raise FailedPrecondition(f"threat_model.access.query_budget: attack '{attack}' "
                                     f"needs {tokens} tokens, {left} left")

    def model(self) -> torch.nn.Module:
        """The target's weights (white-box only), loaded once from the adversary store."""
        if self._model is None:
            ref = self._ctx.target.get_weights()
            model, _spec, _tok, _meta = lm_from_bytes(self._ctx.store.get_bytes(ref))
            self._model = model.to(pick_device()).eval()
        return self._model

    def log_probs(self, docs: Documents) -> list[np.ndarray]:
        return self.stats(docs, with_distribution=False).log_probs

    def stats(self, docs: Documents, with_distribution: bool = True) -> TokenStats:
        if self.white_box:
            return _exact_stats(self.model(), docs, self._ctx)
        out = self.client.score(docs.tokens, docs.lengths)
        given = docs.tokens[:, 1:]
        valid = [int(n) - 1 for n in docs.lengths]
        vocab = self.desc.vocab_size
        if out.kind == "topk":
            assert out.indices is not None
            probs = out.values.astype(np.float64)
            hit = out.indices == given[:, :, None]
            k = probs.shape[2]
            rest = np.clip(1.0 - probs.sum(axis=2), FLOOR, 1.0) / max(1, vocab - k)
            p_given = np.where(hit.any(axis=2), (probs * hit).sum(axis=2), rest)
            logp = np.log(np.clip(p_given, FLOOR, 1.0))
            lp_top = np.log(np.clip(probs, FLOOR, 1.0))
            mu = (probs * lp_top).sum(axis=2) + (vocab - k) * rest * np.log(rest)
            second = (probs * lp_top**2).sum(axis=2) + (vocab - k) * rest * np.log(rest) ** 2
            sigma = np.sqrt(np.clip(second - mu**2, FLOOR, None))
        elif out.kind == "probabilities":
            logp = np.log(np.clip(out.values.astype(np.float64), FLOOR, 1.0))
            mu = sigma = None
        else:
            logp = out.values.astype(np.float64)
            mu = sigma = None
        if with_distribution and mu is None:
            raise FailedPrecondition("threat_model.access.output: the next-token distribution "
                                     "needs topk:K outputs or white-box access")
        return TokenStats(
            [logp[i, :v] for i, v in enumerate(valid)],
            [mu[i, :v] for i, v in enumerate(valid)] if mu is not None else [],
            [sigma[i, :v] for i, v in enumerate(valid)] if sigma is not None else [],
        )


@torch.inference_mode()
def _exact_stats(model: torch.nn.Module, docs: Documents, ctx: RunContext,
                 batch: int = 64) -> TokenStats:
    device = next(model.parameters()).device
    lps: list[np.ndarray] = []
    mus: list[np.ndarray] = []
    sigmas: list[np.ndarray] = []
    for start in range(0, len(docs), batch):
        ctx.check_cancelled()
        width = int(docs.lengths[start:start + batch].max())
        ids = torch.from_numpy(docs.tokens[start:start + batch, :width]).to(device)
        logp = torch.log_softmax(model(ids[:, :-1]).float(), dim=-1)
        p = logp.exp()
        given = logp.gather(2, ids[:, 1:, None]).squeeze(2)
        mu = (p * logp).sum(-1)
        sigma = ((p * logp**2).sum(-1) - mu**2).clamp(min=FLOOR).sqrt()
        for j, n in enumerate(docs.lengths[start:start + batch]):
            v = int(n) - 1
            lps.append(given[j, :v].cpu().double().numpy())
            mus.append(mu[j, :v].cpu().double().numpy())
            sigmas.append(sigma[j, :v].cpu().double().numpy())
    return TokenStats(lps, mus, sigmas)
