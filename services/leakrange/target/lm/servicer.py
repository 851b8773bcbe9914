"""Thin gRPC servicer of ``leakrange.v1.Target`` for language models: proto -> domain -> proto.

The budget counts tokens: ScoreTokens charges every real token of every row; Generate charges
the prompts' tokens plus ``max_new_tokens`` per row before it runs (write-ahead, as for
classifiers) and refunds what was not generated. ``Predict`` is for classifiers and is refused.
"""

from __future__ import annotations

import grpc
from prometheus_client import CollectorRegistry, Counter

from leakrange.common.errors import FailedPrecondition
from leakrange.common.interceptors import current_principal
from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import output_kind_to_proto
from leakrange.target.budget import QueryBudget
from leakrange.target.lm.host import MAX_TEMPERATURE, LmHost
from leakrange.target.lm.sequence_policy import needs_top_k, refuse_label, shape_token_scores
from leakrange.target.policy import AccessPolicy
from leakrange.target.servicer import grant_weights, weight_requests_counter
from leakrange.v1 import common_pb2, target_pb2, target_pb2_grpc


class LmMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tokens = Counter(
            "leakrange_target_tokens_total", "Tokens scored or generated", ["rpc", "outcome"],
            registry=registry,
        )
        self.weights = weight_requests_counter(registry)


class LanguageModelServicer(target_pb2_grpc.TargetServicer):
    def __init__(self, host: LmHost, policy: AccessPolicy, budget: QueryBudget,
                 metrics: LmMetrics) -> None:
        self._host = host
        self._policy = policy
        self._budget = budget
        self._metrics = metrics

    def Describe(self, request, context: grpc.ServicerContext) -> target_pb2.TargetInfo:
        host = self._host
        tok = host.tokenizer
        access = self._policy.to_access()
        access = access.model_copy(update={"top_k": min(access.top_k, host.vocab_size)})
        return target_pb2.TargetInfo(
            model_kind=host.model_kind, input_shape=[host.spec.context],
            input_dtype=common_pb2.DTYPE_INT64, num_classes=host.vocab_size,
            access=access.to_proto(),
            remaining_budget=self._budget.remaining(current_principal.get()),
            max_batch=host.max_batch, dataset=host.dataset,
            language_model=target_pb2.LanguageModelInfo(
                vocab_size=host.vocab_size, max_sequence_length=host.spec.context,
                tokenizer_json=tok.to_json(), bos_token_id=tok.bos_id,
                eos_token_id=tok.eos_id, pad_token_id=tok.pad_id,
                max_new_tokens=host.max_new_tokens, max_temperature=MAX_TEMPERATURE,
            ),
        )

    def Predict(self, request, context: grpc.ServicerContext) -> target_pb2.PredictResponse:
        raise FailedPrecondition("this target is a language model: use ScoreTokens or Generate")

    def GetWeights(self, request, context: grpc.ServicerContext) -> common_pb2.ArtifactRef:
        return grant_weights(self._policy, self._metrics.weights, self._host.ref.to_proto())

    def ScoreTokens(self, request, context: grpc.ServicerContext
                    ) -> target_pb2.ScoreTokensResponse:
        refuse_label(self._policy)
        lengths = request.lengths if request.HasField("lengths") else None
        batch = self._host.batch(request.tokens, lengths, "tokens", min_length=2)
        principal = current_principal.get()
        remaining = self._charge(principal, batch.charged, "score")
        try:
            scores = self._host.score(batch, needs_top_k(self._policy, self._host.vocab_size))
            values, indices = shape_token_scores(scores, self._policy)
        except Exception:
            self._budget.refund(principal, batch.charged)
            raise
        self._metrics.tokens.labels("score", "answered").inc(batch.charged)
        response = target_pb2.ScoreTokensResponse(
            kind=output_kind_to_proto(self._policy.output), values=to_proto(values),
            remaining_budget=remaining, tokens_charged=batch.charged)
        if indices is not None:
            response.indices.CopyFrom(to_proto(indices))
        return response

    def Generate(self, request, context: grpc.ServicerContext) -> target_pb2.GenerateResponse:
        host = self._host
        lengths = request.lengths if request.HasField("lengths") else None
        batch = host.batch(request.prompts, lengths, "prompts", min_length=1)
        host.check_generation(batch, request.max_new_tokens, request.temperature, request.top_k)
        principal = current_principal.get()
        worst = batch.charged + len(batch.tokens) * request.max_new_tokens
        self._charge(principal, worst, "generate")
        try:
            tokens, generated = host.generate(batch, request.max_new_tokens,
                                              request.temperature, request.top_k, request.seed)
        except Exception:
            self._budget.refund(principal, worst)
            raise
        charged = batch.charged + int(generated.sum())
        self._budget.refund(principal, worst - charged)
        self._metrics.tokens.labels("generate", "answered").inc(charged)
        return target_pb2.GenerateResponse(
            tokens=to_proto(tokens), lengths=to_proto(generated),
            remaining_budget=self._budget.remaining(principal), tokens_charged=charged)

    def _charge(self, principal: str, tokens: int, rpc: str) -> int:
        try:
            return self._budget.charge(principal, tokens)
        except Exception:
            self._metrics.tokens.labels(rpc, "refused_budget").inc(tokens)
            raise
