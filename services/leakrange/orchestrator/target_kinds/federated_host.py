"""Where a ``federated`` target's federation runs when the range backend hosts it (the
Kubernetes range: SuperLink and SuperNode pods, ``orchestrator/kubernetes/federation_run.py``)
instead of the local launcher's processes. The runner hands the backend's host to preparation
(``PrepareContext.federation``); preparation stays the same either way: the host gets the run's
settings, every client's partition (range side only) and the optional crafted model and holdout,
and returns the observation the ServerApp recorded, read back through ``Observations``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from leakrange.artifacts import ArtifactStore
from leakrange.federation.observation_files import Observations
from leakrange.federation.settings import FederationSettings

StopFn = Callable[[], bool]
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class FederationJob:
    """One run: the settings (no local paths), the partitions (x, y) of clients 0..n-1, and
    the malicious server's crafted model / the holdout when the settings use them."""

    settings: FederationSettings
    partitions: Sequence[tuple[np.ndarray, np.ndarray]]
    crafted: dict[str, np.ndarray] | None = None
    holdout: dict[str, np.ndarray] | None = None


@dataclass
class HostedOutcome:
    """A finished run: its observation (the ServerApp's records), the rounds that finished."""

    observations: Observations
    rounds: list[int]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


class FederationHost(Protocol):
    """A backend that runs federations itself (see the module docstring)."""

    def run_federation(self, job: FederationJob, store: ArtifactStore, *,
                       should_stop: StopFn | None = None, progress: ProgressFn | None = None,
                       timeout_s: float = 3600.0) -> HostedOutcome: ...
