"""Everything one attack run needs, passed in (no global state)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leakrange.artifacts import ArtifactStore
from leakrange.common.errors import Cancelled, FailedPrecondition
from leakrange.common.threat_model import ThreatModel
from leakrange.target.client import TargetClient

ProgressFn = Callable[[str, int, int, str], None]
LogFn = Callable[[str], None]


@dataclass
class RunContext:
    run_id: str
    # The Target service; ``None`` when the target kind deploys none (a synthetic release).
    target_client: TargetClient | None
    store: ArtifactStore
    threat_model: ThreatModel
    # Audit records (members and non-members mixed, unlabelled): x and class labels y.
    audit_x: np.ndarray
    audit_y: np.ndarray
    # Adversary-available data from the same distribution.
    population_x: np.ndarray | None = None
    population_y: np.ndarray | None = None
    dataset: str = ""
    model_spec_json: str = ""
    recipe_json: str = ""
    seed: int = 0
    # CPU cores the run may use (the attack service's share of the machine or pod).
    cores: int = 1
    progress: ProgressFn = lambda phase, done, total, message: None
    log: LogFn = lambda message: None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    # Family-specific inputs (artifact refs etc.).
    extras: dict[str, Any] = field(default_factory=dict)
    # Where reference-model shards can be trained off this process (``ReferenceFanout``): set
    # by the attack service when the RunRequest offers the range's fan-out (Kubernetes Indexed
    # Jobs, ``range_fanout.StreamFanout``); None: they train here.
    reference_fanout: Any = None

    @property
    def target(self) -> TargetClient:
        if self.target_client is None:
            raise FailedPrecondition("this exercise has no Target service to query")
        return self.target_client

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled("attack run cancelled")
