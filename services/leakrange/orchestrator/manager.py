"""``Orchestrator``: the domain core behind the gRPC service and ``leakrange run``.

Exercises are persisted on submit, queued, and run by ``concurrency`` worker threads. On start
it marks exercises a previous process left RUNNING as INTERRUPTED (``resume`` queues them
again, reusing finished attacks and cached work), removes services left behind by that process,
and re-queues exercises that were still QUEUED.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from leakrange.orchestrator.backend import RangeBackend
from leakrange.orchestrator.control import ExerciseControl
from leakrange.orchestrator.events import Event, EventHub
from leakrange.orchestrator.records import (
    FINAL_STATES,
    RESUMABLE_STATES,
    ExerciseRecord,
    ExerciseState,
)
from leakrange.orchestrator.runner import ExerciseRunner, RunnerSettings
from leakrange.orchestrator.spec_loading import load_spec
from leakrange.orchestrator.state import ExerciseDB
from leakrange.orchestrator.telemetry import OrchestratorMetrics

log = logging.getLogger(__name__)

ReportFormat = Literal["json", "html"]
MAX_PAGE_SIZE = 500


class Orchestrator:
    def __init__(
        self,
        store: ArtifactStore,
        backend: RangeBackend,
        data_dir: str | Path,
        *,
        concurrency: int = 2,
        registry: CollectorRegistry | None = None,
        runner_settings: RunnerSettings | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidArgument("concurrency", "must be >= 1")
        self.store = store
        self.backend = backend
        self.db = ExerciseDB.in_dir(data_dir)
        self.hub = EventHub()
        self.metrics = OrchestratorMetrics(registry or CollectorRegistry(),
                                           self.db.count_by_state)
        self._runner = ExerciseRunner(store, backend, self.db, self.hub, self.metrics,
                                      runner_settings)
        self._concurrency = concurrency
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._controls: dict[str, ExerciseControl] = {}
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._accepting = False

    # -------------------------------------------------------------- lifecycle

    def start(self) -> Orchestrator:
        interrupted = self.db.mark_interrupted()
        if interrupted:
            log.warning("exercises interrupted by a restart", extra={"count": len(interrupted)})
        orphans = self.backend.cleanup_orphans()
        if orphans:
            log.warning("removed services left by a previous run", extra={"count": len(orphans)})
        for exercise_id in self.db.ids_in_state(ExerciseState.QUEUED):
            self._queue.put(exercise_id)
        self._accepting = True
        for n in range(self._concurrency):
            worker = threading.Thread(target=self._work, name=f"exercise-worker-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting; running exercises become INTERRUPTED; queued ones stay queued."""
        self._accepting = False
        with self._lock:
            controls = list(self._controls.values())
        for control in controls:
            control.stop("shutdown", "the orchestrator stopped while the exercise ran")
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(grace)
        self._workers.clear()
        self.backend.close()
        self.db.close()

    def _work(self) -> None:
        while True:
            exercise_id = self._queue.get()
            if exercise_id is None:
                return
            control = ExerciseControl()
            with self._lock:
                if not self._accepting:
                    return
                self._controls[exercise_id] = control
            try:
                self._runner.run(exercise_id, control)
            except (FailedPrecondition, NotFound):
                pass  # cancelled while queued, or queued twice: nothing to run
            except Exception:
                log.exception("exercise worker error", extra={"exercise": exercise_id})
            finally:
                with self._lock:
                    self._controls.pop(exercise_id, None)

    # ---------------------------------------------------------------- commands

    def submit(self, spec_yaml: str) -> ExerciseRecord:
        """Validate the spec (``SpecError`` names each problem's path), persist, queue."""
        if not self._accepting:
            raise Unavailable("the orchestrator is not accepting exercises")
        spec = load_spec(spec_yaml)
        record = self.db.create(spec.name, spec_yaml)
        self.hub.publish(Event(record.id, state=ExerciseState.QUEUED))
        self._queue.put(record.id)
        return record

    def get(self, exercise_id: str) -> ExerciseRecord:
        return self.db.get(exercise_id)

    def list_exercises(
        self, states: Iterable[ExerciseState] = (), page_size: int = 100, page_token: str = ""
    ) -> tuple[list[ExerciseRecord], str]:
        size = page_size if page_size > 0 else 100
        return self.db.list_exercises(states, min(size, MAX_PAGE_SIZE), page_token)

    def cancel(self, exercise_id: str) -> ExerciseRecord:
        record = self.db.get(exercise_id)
        if record.state == ExerciseState.CANCELLED:
            return record
        if record.state in FINAL_STATES:
            raise FailedPrecondition(f"exercise is {record.state.value}")
        if record.state == ExerciseState.QUEUED:
            try:
                record = self.db.transition(exercise_id, ExerciseState.CANCELLED,
                                            allowed_from=[ExerciseState.QUEUED],
                                            message="cancelled by the operator")
                self.hub.publish(Event(exercise_id, state=ExerciseState.CANCELLED,
                                       log="cancelled by the operator"))
                return record
            except FailedPrecondition:
                pass  # a worker picked it up just now: cancel the run below
        with self._lock:
            control = self._controls.get(exercise_id)
        if control is not None:
            control.stop("cancel", "cancelled by the operator")
        return self.db.get(exercise_id)

    def resume(self, exercise_id: str) -> ExerciseRecord:
        """Queue an interrupted, failed or cancelled exercise again; finished attacks are kept."""
        if not self._accepting:
            raise Unavailable("the orchestrator is not accepting exercises")
        record = self.db.get(exercise_id)
        if record.state not in RESUMABLE_STATES:
            raise FailedPrecondition(f"exercise is {record.state.value}")
        self.db.clear_unfinished_attacks(exercise_id)
        record = self.db.transition(exercise_id, ExerciseState.QUEUED,
                                    allowed_from=RESUMABLE_STATES, message="")
        self.hub.reopen(exercise_id)
        self.hub.publish(Event(exercise_id, state=ExerciseState.QUEUED, log="resumed"))
        self._queue.put(exercise_id)
        return record

    def watch(self, exercise_id: str, is_active: Callable[[], bool] = lambda: True
              ) -> Iterator[Event]:
        """Past and live events of an exercise, until it reaches a final state."""
        record = self.db.get(exercise_id)
        if not self.hub.has(exercise_id):
            self.hub.seed(exercise_id, _events_of(record))
        return self.hub.follow(exercise_id, is_active)

    def wait(self, exercise_id: str, timeout: float | None = None) -> ExerciseRecord:
        """Block until the exercise is final (or ``timeout``); returns its record."""
        done = threading.Event()

        def follow() -> None:
            for _ in self.watch(exercise_id, lambda: not done.is_set()):
                pass
            done.set()

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        finished = done.wait(timeout)
        done.set()
        record = self.db.get(exercise_id)
        if not finished and record.state not in FINAL_STATES:
            raise Unavailable("timed out waiting for the exercise")
        return record

    def report(self, exercise_id: str, fmt: ReportFormat = "json") -> tuple[bytes, ArtifactRef]:
        record = self.db.get(exercise_id)
        ref = record.report_html if fmt == "html" else record.report_json
        if ref is None:
            raise FailedPrecondition(f"exercise has no {fmt} report (it is {record.state.value})")
        return self.store.get_bytes(ref), ref


def _events_of(record: ExerciseRecord) -> list[Event]:
    """Events that describe a persisted record (for a watcher that starts after a restart)."""
    events = [Event(record.id, attack_finished=a) for a in record.attacks]
    events.append(Event(record.id, state=record.state, log=record.message or None))
    return events
