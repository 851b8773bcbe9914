"""Builds the Orchestrator server and its range backend from settings
(used by ``leakrange serve orchestrator``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry

from leakrange.artifacts import open_store
from leakrange.common.errors import InvalidArgument, MissingDependency
from leakrange.common.server import RangeServer, ServerOptions, ServiceBinding, build_server
from leakrange.orchestrator.backend import RangeBackend
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.manager import Orchestrator
from leakrange.orchestrator.runner import RunnerSettings
from leakrange.orchestrator.servicer import OrchestratorServicer
from leakrange.v1 import orchestrator_pb2, orchestrator_pb2_grpc

BackendName = Literal["local", "kubernetes"]


@dataclass
class OrchestratorSettings:
    store: str  # artifact store URL (a folder path or s3://...), shared with the services
    data_dir: Path
    backend: BackendName = "local"
    concurrency: int = 2
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    child_log_level: str = "WARNING"
    ready_timeout: float = 120.0
    # kubernetes backend: where exercise releases go, the leakrange-exercise chart, the control
    # plane's defaults for every exercise release (helm -f), and the helm binary.
    namespace: str = "default"
    exercise_chart: Path | None = None
    exercise_values: Path | None = field(default_factory=lambda: _path_from_env(
        "LEAKRANGE_EXERCISE_VALUES"))
    helm_bin: str = "helm"
    # Placement of exercise pods (GPUs per family, node selectors ...), see placement_config.py.
    exercise_pods: Path | None = None


def _path_from_env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


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
