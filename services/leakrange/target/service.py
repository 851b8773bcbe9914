"""Builds the Target server from settings (used by ``leakrange serve target``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from leakrange.artifacts import MEDIA_LM, MEDIA_MODEL, ArtifactRef, ArtifactStore
from leakrange.common.server import RangeServer, ServerOptions, ServiceBinding, build_server
from leakrange.target.budget import QueryBudget
from leakrange.target.budget_ledger import BudgetLedger
from leakrange.target.lm.host import LmHost
from leakrange.target.lm.servicer import LanguageModelServicer, LmMetrics
from leakrange.target.onnx_host import open_host
from leakrange.target.policy import AccessPolicy
from leakrange.target.servicer import TargetMetrics, TargetServicer
from leakrange.v1 import target_pb2, target_pb2_grpc


@dataclass
class TargetSettings:
    model: str
    policy: AccessPolicy
    max_batch: int = 4096
    # White-box only: the adversaries' store (which cannot read the range's), where the target
    # copies its weights blob so the reference GetWeights returns resolves for adversaries.
    weights_store: ArtifactStore | None = None
    # The exercise the spending belongs to: budgets then survive redeployment (budget_ledger).
    exercise_id: str | None = None


def publish_weights(store: ArtifactStore, ref: ArtifactRef, adversary_store: ArtifactStore) -> None:
    """Copy the weights blob into the adversaries' store (same content address)."""
    if not adversary_store.exists(ref.sha256):
        adversary_store.put_bytes(store.get_bytes(ref), ref.media_type or MEDIA_MODEL)


def build_target_server(
    store: ArtifactStore, settings: TargetSettings, options: ServerOptions
) -> RangeServer:
    ref = store.stat(store.resolve(settings.model))
    # Auth principals double as budget keys: each adversary token has its own budget.
    ledger = BudgetLedger(store, settings.exercise_id) if settings.exercise_id else None
    registry = CollectorRegistry()
    servicer: target_pb2_grpc.TargetServicer
    if ref.media_type == MEDIA_LM:
        lm_host = LmHost.from_store(store, ref, settings.max_batch)
        budget = QueryBudget(settings.policy.query_budget, ledger, unit="tokens")
        servicer = LanguageModelServicer(lm_host, settings.policy, budget, LmMetrics(registry))
        host_ref = lm_host.ref
    else:
        host = open_host(store, settings.model, settings.max_batch)
        budget = QueryBudget(settings.policy.query_budget, ledger)
        servicer = TargetServicer(host, settings.policy, budget, TargetMetrics(registry))
        host_ref = host.ref
    if settings.policy.white_box and settings.weights_store is not None:
        publish_weights(store, host_ref, settings.weights_store)
    binding = ServiceBinding(
        descriptor=target_pb2.DESCRIPTOR.services_by_name["Target"],
        servicer=servicer,
        add=target_pb2_grpc.add_TargetServicer_to_server,
    )
    return build_server([binding], options, registry)
