"""Builds an Attack server for one family (used by ``leakrange serve attack``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from leakrange.artifacts import ArtifactStore
from leakrange.attacks.registry import get_registry
from leakrange.attacks.servicer import AttackMetrics, AttackServicer
from leakrange.common.server import RangeServer, ServerOptions, ServiceBinding, build_server
from leakrange.models.cpu_budget import available_cores
from leakrange.models.reference_workers import warm_up_workers
from leakrange.v1 import attack_pb2, attack_pb2_grpc


def build_attack_server(
    store: ArtifactStore, family: str, options: ServerOptions, cores: int | None = None
) -> RangeServer:
    """``cores``: CPU cores the attacks may use (default: what this process is given, its
    affinity mask capped by a cgroup quota). With more than one, the reference-training
    worker server starts now, so the first run does not pay its imports."""
    registry = CollectorRegistry()
    used = available_cores() if cores is None else max(1, cores)
    if used > 1:
        warm_up_workers()
    servicer = AttackServicer(get_registry(family), store, AttackMetrics(registry), used)
    binding = ServiceBinding(
        descriptor=attack_pb2.DESCRIPTOR.services_by_name["Attack"],
        servicer=servicer,
        add=attack_pb2_grpc.add_AttackServicer_to_server,
    )
    server = build_server([binding], options, registry)
    server.on_drain(servicer.cancel_all)
    return server
