"""``OrchestratorSettings``: how an orchestrator process is configured (store, state folder,
backend and its options). Its own module so that the service and the backends both import it
without importing each other."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from leakrange.orchestrator.runner_settings import RunnerSettings

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
    # helm's release storage (configmap keeps the Role off Secrets) and the one Secret holding
    # every exercise's tokens (the Role names it).
    helm_driver: str = "configmap"
    tokens_secret: str = "leakrange-exercise-tokens"  # noqa: S105 - a Secret's name
    # Placement of exercise pods (GPUs per family, node selectors ...), see placement_config.py.
    exercise_pods: Path | None = None


def _path_from_env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
