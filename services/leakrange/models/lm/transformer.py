"""The range's small causal transformer (GPT-style, pre-norm) and the LM forward helpers.

Token and learned position embeddings, ``n_layers`` blocks of causal self-attention and a GELU
MLP, a final norm and an untied output head (safetensors refuses shared tensors). Right padding
needs no mask: under causal attention no real token ever attends to a pad after it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from leakrange.models.lm.spec import LmSpec


class _Block(nn.Module):
    def __init__(self, spec: LmSpec) -> None:
        super().__init__()
        self.n_heads = spec.n_heads
        self.ln1 = nn.LayerNorm(spec.d_model)
        self.qkv = nn.Linear(spec.d_model, 3 * spec.d_model)
        self.proj = nn.Linear(spec.d_model, spec.d_model)
        self.ln2 = nn.LayerNorm(spec.d_model)
        self.fc1 = nn.Linear(spec.d_model, spec.d_ff)
        self.fc2 = nn.Linear(spec.d_ff, spec.d_model)
        self.drop = nn.Dropout(spec.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        shape = (b, t, self.n_heads, d // self.n_heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        p = self.drop.p if self.training else 0.0
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class TinyGpt(nn.Module):
    """ids int64 [batch, time] -> next-token logits [batch, time, vocab]."""

    def __init__(self, spec: LmSpec) -> None:
        super().__init__()
        self.context = spec.context
        self.tok = nn.Embedding(spec.vocab_size, spec.d_model)
        self.pos = nn.Embedding(spec.context, spec.d_model)
        self.blocks = nn.ModuleList(_Block(spec) for _ in range(spec.n_layers))
        self.ln = nn.LayerNorm(spec.d_model)
        self.head = nn.Linear(spec.d_model, spec.vocab_size, bias=False)
        self.drop = nn.Dropout(spec.dropout)
        self.apply(_init)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


class HfCausalLm(nn.Module):
    """A Hugging Face causal LM behind the same ids -> logits interface as ``TinyGpt``."""

    def __init__(self, model: nn.Module, context: int) -> None:
        super().__init__()
        self.hf = model
        self.context = context

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=ids).logits


def build_lm(spec: LmSpec) -> nn.Module:
    """An untrained model for ``spec`` (llama: random weights of the configured shape)."""
    if spec.arch == "tiny-gpt":
        return TinyGpt(spec)
    from leakrange.models.lm.pretrained import llama_from_config

    return HfCausalLm(llama_from_config(spec), spec.context)


def token_log_probs(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """log p(tokens[:, t] | tokens[:, :t]) for t = 1 .. T-1: float32 [batch, T-1]."""
    logp = F.log_softmax(model(tokens[:, :-1]).float(), dim=-1)
    return logp.gather(2, tokens[:, 1:, None]).squeeze(2)


def next_token_log_probs(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Full next-token log-distributions after each prefix tokens[:, :t], t = 1 .. T-1:
    float32 [batch, T-1, vocab]."""
    return F.log_softmax(model(tokens[:, :-1]).float(), dim=-1)
