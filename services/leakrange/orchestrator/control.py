"""``ExerciseControl``: how a running exercise is stopped (cancel, shutdown, a dead service)."""

from __future__ import annotations

import threading
from typing import Any, Literal

from leakrange.common.errors import Cancelled, Unavailable

StopKind = Literal["cancel", "shutdown", "failure"]


class ExerciseControl:
    """Shared between the runner thread and whoever stops it. The first stop wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.kind: StopKind | None = None
        self.reason = ""
        self._call: Any = None  # the in-flight gRPC call, cancelled on stop

    def stop(self, kind: StopKind, reason: str) -> None:
        with self._lock:
            if self.kind is not None:
                return
            self.kind, self.reason = kind, reason
            self._stopped.set()
            call = self._call
        if call is not None:
            call.cancel()

    def stopped(self) -> bool:
        return self._stopped.is_set()

    def wait(self, timeout: float) -> bool:
        return self._stopped.wait(timeout)

    def attach(self, call: Any) -> None:
        """Track the in-flight call; cancel it at once if already stopped."""
        with self._lock:
            self._call = call
            stopped = self.kind is not None
        if stopped:
            call.cancel()

    def detach(self) -> None:
        with self._lock:
            self._call = None

    def raise_if_stopped(self) -> None:
        if self.kind == "failure":
            raise Unavailable(self.reason)
        if self.kind is not None:
            raise Cancelled(self.reason)
