"""Builds the Target server from settings (used by ``leakrange serve target``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from leakrange.artifacts import ArtifactStore
from leakrange.common.server import RangeServer, ServerOptions, ServiceBinding, build_server
from leakrange.target.budget import QueryBudget
from leakrange.target.onnx_host import open_host
from leakrange.target.policy import AccessPolicy
from leakrange.target.servicer import TargetMetrics, TargetServicer
from leakrange.v1 import target_pb2, target_pb2_grpc


@dataclass
class TargetSettings:
    model: str
    policy: AccessPolicy
    max_batch: int = 4096


def build_target_server(
    store: ArtifactStore, settings: TargetSettings, options: ServerOptions
) -> RangeServer:
    host = open_host(store, settings.model, settings.max_batch)
    # Auth principals double as budget keys: each adversary token has its own budget.
    budget = QueryBudget(settings.policy.query_budget)

    registry = CollectorRegistry()
    servicer = TargetServicer(host, settings.policy, budget, TargetMetrics(registry))
    binding = ServiceBinding(
        descriptor=target_pb2.DESCRIPTOR.services_by_name["Target"],
        servicer=servicer,
        add=target_pb2_grpc.add_TargetServicer_to_server,
    )
    return build_server([binding], options, registry)
