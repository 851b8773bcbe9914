"""How adversaries (and tests) query a language-model target: ScoreTokens and Generate, batched.

Token budgets: every call's charge is added to the wrapped ``TargetClient.records_queried``, so
an attack run's "queries" fact counts tokens for a language model.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import numpy as np

from leakrange.common.errors import FailedPrecondition, from_rpc_error
from leakrange.common.tensors import from_proto, to_proto
from leakrange.common.threat_model import OutputKind, output_kind_from_proto
from leakrange.models.lm.tokenizer import TextTokenizer
from leakrange.target.client import TargetClient
from leakrange.v1 import target_pb2


@dataclass(frozen=True)
class LmDescription:
    vocab_size: int
    context: int
    tokenizer: TextTokenizer
    max_new_tokens: int
    max_temperature: float
    output: OutputKind
    top_k: int
    rounding: int | None
    white_box: bool
    remaining_budget: int
    max_batch: int


@dataclass(frozen=True)
class TokenScoresOut:
    kind: OutputKind
    values: np.ndarray  # [n, L-1] or [n, L-1, k]
    indices: np.ndarray | None


class LanguageModelClient:
    def __init__(self, client: TargetClient) -> None:
        self.client = client
        self._desc: LmDescription | None = None

    def describe(self) -> LmDescription:
        try:
            info = self.client.stub.Describe(target_pb2.DescribeRequest(),
                                             timeout=self.client.timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        if not info.HasField("language_model"):
            raise FailedPrecondition("the target is not a language model")
        lm = info.language_model
        desc = self.client.describe()
        self._desc = LmDescription(
            vocab_size=lm.vocab_size, context=lm.max_sequence_length,
            tokenizer=TextTokenizer.from_json(lm.tokenizer_json),
            max_new_tokens=lm.max_new_tokens, max_temperature=lm.max_temperature,
            output=desc.output, top_k=desc.top_k, rounding=desc.rounding,
            white_box=desc.white_box, remaining_budget=info.remaining_budget,
            max_batch=info.max_batch,
        )
        return self._desc

    @property
    def desc(self) -> LmDescription:
        return self._desc or self.describe()

    def score(self, tokens: np.ndarray, lengths: np.ndarray, batch_size: int = 256
              ) -> TokenScoresOut:
        """Score right-padded rows (each at least 2 tokens) in batches."""
        size = min(batch_size, self.desc.max_batch)
        values: list[np.ndarray] = []
        indices: list[np.ndarray] = []
        kind: OutputKind = self.desc.output
        for start in range(0, len(tokens), size):
            rows = tokens[start:start + size]
            lens = lengths[start:start + size]
            width = int(lens.max())
            request = target_pb2.ScoreTokensRequest(
                tokens=to_proto(np.ascontiguousarray(rows[:, :width], np.int64)),
                lengths=to_proto(lens.astype(np.int64)))
            try:
                resp = self.client.stub.ScoreTokens(request, timeout=self.client.timeout)
            except grpc.RpcError as err:
                raise from_rpc_error(err) from None
            self.client.records_queried += int(resp.tokens_charged)
            kind = output_kind_from_proto(resp.kind)
            part = from_proto(resp.values, "values")
            pad = tokens.shape[1] - 1 - part.shape[1]
            widths = [(0, 0), (0, pad)] + ([(0, 0)] if part.ndim == 3 else [])
            values.append(np.pad(part, widths))
            if resp.HasField("indices"):
                indices.append(np.pad(from_proto(resp.indices, "indices"), widths))
        return TokenScoresOut(kind, np.concatenate(values),
                              np.concatenate(indices) if indices else None)

    def generate(self, prompts: np.ndarray, lengths: np.ndarray, max_new_tokens: int,
                 temperature: float, top_k: int = 0, seed: int = 0, batch_size: int = 256
                 ) -> tuple[np.ndarray, np.ndarray]:
        size = min(batch_size, self.desc.max_batch)
        outs: list[np.ndarray] = []
        lens_out: list[np.ndarray] = []
        for start in range(0, len(prompts), size):
            lens = lengths[start:start + size]
            request = target_pb2.GenerateRequest(
                prompts=to_proto(np.ascontiguousarray(
                    prompts[start:start + size, :int(lens.max())], np.int64)),
                lengths=to_proto(lens.astype(np.int64)), max_new_tokens=max_new_tokens,
                temperature=temperature, top_k=top_k, seed=seed + start)
            try:
                resp = self.client.stub.Generate(request, timeout=self.client.timeout)
            except grpc.RpcError as err:
                raise from_rpc_error(err) from None
            self.client.records_queried += int(resp.tokens_charged)
            outs.append(from_proto(resp.tokens, "tokens"))
            lens_out.append(from_proto(resp.lengths, "lengths"))
        return np.concatenate(outs), np.concatenate(lens_out)
