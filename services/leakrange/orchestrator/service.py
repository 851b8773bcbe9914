"""Builds the Orchestrator server and its range backend from settings
(used by ``leakrange serve orchestrator``). The settings live in ``settings.py``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from leakrange.artifacts import open_store
from leakrange.common.errors import InvalidArgument, MissingDependency
from leakrange.common.server import RangeServer, ServerOptions, ServiceBinding, build_server
from leakrange.orchestrator.backend import RangeBackend
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.servicer import OrchestratorServicer
from leakrange.orchestrator.settings import BackendName, OrchestratorSettings
from leakrange.v1 import orchestrator_pb2, orchestrator_pb2_grpc

__all__ = ["BackendName", "OrchestratorSettings", "build_backend", "build_orchestrator",
           "build_orchestrator_server"]

def build_backend(settings: OrchestratorSettings) -> RangeBackend:
    if settings.backend == "local":
        return LocalBackend(settings.store, settings.data_dir,
                            ready_timeout=settings.ready_timeout,
                            log_level=settings.child_log_level)
    if settings.backend == "kubernetes":
        try:
            from leakrange.orchestrator.kubernetes import (  # type: ignore[import-not-found]
                KubernetesBackend,
            )
        except ImportError:
            raise MissingDependency(
                "the kubernetes backend is not part of this build (use --backend local)"
            ) from None
        return KubernetesBackend.from_settings(settings)  # type: ignore[no-any-return]
    raise InvalidArgument("backend", "must be local or kubernetes")


def build_orchestrator(
    settings: OrchestratorSettings, registry: CollectorRegistry | None = None,
    backend: RangeBackend | None = None,
) -> Orchestrator:
    """The (not yet started) domain core with its store and backend."""
    return Orchestrator(
        open_store(settings.store), backend or build_backend(settings), settings.data_dir,
        concurrency=settings.concurrency, registry=registry, runner_settings=settings.runner,
    )


def build_orchestrator_server(
    settings: OrchestratorSettings, options: ServerOptions,
    backend: RangeBackend | None = None,
) -> tuple[RangeServer, Orchestrator]:
    """The gRPC server (not started) and its started orchestrator; draining the server
    interrupts running exercises (they can be resumed after a restart)."""
    registry = CollectorRegistry()
    orchestrator = build_orchestrator(settings, registry, backend)
    binding = ServiceBinding(
        descriptor=orchestrator_pb2.DESCRIPTOR.services_by_name["Orchestrator"],
        servicer=OrchestratorServicer(orchestrator),
        add=orchestrator_pb2_grpc.add_OrchestratorServicer_to_server,
    )
    server = build_server([binding], options, registry)
    orchestrator.start()
    server.on_drain(lambda: orchestrator.shutdown(options.grace_seconds))
    return server, orchestrator
