"""Thin gRPC servicer for ``leakrange.v1.Target``: proto -> domain -> proto."""

from __future__ import annotations

import math

import grpc
from prometheus_client import CollectorRegistry, Counter

from leakrange.common.errors import FailedPrecondition, PermissionDenied
from leakrange.common.interceptors import current_principal
from leakrange.common.tensors import from_proto, to_proto
from leakrange.common.threat_model import output_kind_to_proto
from leakrange.target.budget import QueryBudget
from leakrange.target.model_host import BatchChecks
from leakrange.target.policy import AccessPolicy, shape_outputs
from leakrange.v1 import common_pb2, target_pb2, target_pb2_grpc


class TargetMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "leakrange_target_records_total", "Records queried through Predict",
            ["outcome"], registry=registry,
        )
        self.weights = weight_requests_counter(registry)


def weight_requests_counter(registry: CollectorRegistry) -> Counter:
    """GetWeights calls by outcome (granted / denied), for every kind of target."""
    return Counter("leakrange_target_weight_requests_total", "GetWeights calls", ["outcome"],
                   registry=registry)


def grant_weights(policy: AccessPolicy, requests: Counter,
                  ref: common_pb2.ArtifactRef) -> common_pb2.ArtifactRef:
    """GetWeights: the weights' artifact under a white-box policy, PERMISSION_DENIED otherwise."""
    if not policy.white_box:
        requests.labels("denied").inc()
        raise PermissionDenied("weights are not available under a black-box policy")
    requests.labels("granted").inc()
    return ref


class TargetServicer(target_pb2_grpc.TargetServicer):
    def __init__(
        self, host: BatchChecks, policy: AccessPolicy, budget: QueryBudget, metrics: TargetMetrics
    ) -> None:
        self._host = host
        self._policy = policy
        self._budget = budget
        self._metrics = metrics

    def Describe(self, request, context: grpc.ServicerContext) -> target_pb2.TargetInfo:
        host = self._host
        return target_pb2.TargetInfo(
            model_kind=host.model_kind,
            input_shape=list(host.input_shape),
            input_dtype=common_pb2.DTYPE_FLOAT32,
            num_classes=host.num_classes,
            class_names=host.class_names,
            access=self._effective_access(),
            remaining_budget=self._budget.remaining(current_principal.get()),
            max_batch=host.max_batch,
            dataset=host.dataset,
        )

    def _effective_access(self) -> common_pb2.Access:
        """The policy as served: top_k is what Predict returns (at most num_classes)."""
        access = self._policy.to_access()
        effective = access.model_copy(
            update={"top_k": min(access.top_k, self._host.num_classes)})
        return effective.to_proto()

    def Predict(self, request, context: grpc.ServicerContext) -> target_pb2.PredictResponse:
        host = self._host
        # Rank, record shape and batch size before decoding: no size arithmetic on a hostile
        # shape (an element count beyond 64 bits) can fail as INTERNAL.
        host.check_wire_shape(request.inputs.shape)
        max_elements = host.max_batch * math.prod(host.input_shape)
        x = host.validate(from_proto(request.inputs, "inputs", max_elements=max_elements,
                                     allow_empty=True))
        principal = current_principal.get()
        n = int(x.shape[0])
        try:
            remaining = self._budget.charge(principal, n)
        except Exception:
            self._metrics.records.labels("refused_budget").inc(n)
            raise
        try:
            outputs, indices = shape_outputs(host.checked_logits(x), self._policy)
        except Exception:
            self._budget.refund(principal, n)
            raise
        self._metrics.records.labels("answered").inc(n)
        response = target_pb2.PredictResponse(
            kind=output_kind_to_proto(self._policy.output),
            outputs=to_proto(outputs),
            remaining_budget=remaining,
        )
        if indices is not None:
            response.indices.CopyFrom(to_proto(indices))
        return response

    def GetWeights(self, request, context: grpc.ServicerContext) -> common_pb2.ArtifactRef:
        return grant_weights(self._policy, self._metrics.weights, self._host.ref.to_proto())

    def ScoreTokens(self, request, context: grpc.ServicerContext
                    ) -> target_pb2.ScoreTokensResponse:
        raise FailedPrecondition("this target is a classifier: ScoreTokens needs a language "
                                 "model (use Predict)")

    def Generate(self, request, context: grpc.ServicerContext) -> target_pb2.GenerateResponse:
        raise FailedPrecondition("this target is a classifier: Generate needs a language model")
