"""Reference-model fan-out through the range: the run asks on its stream, the range answers.

The attack service runs in the adversary pod, which has no Kubernetes API access on purpose, so
it cannot create the Indexed Jobs that train reference shards elsewhere. When the RunRequest
carries a ``reference_fanout`` offer, the run's ``RunContext.reference_fanout`` is a
``StreamFanout`` (a ``reference_task.ReferenceFanout``): ``train_shards(task, shards)`` emits a
``ReferenceFanoutRequest`` event on the run's own stream and blocks until the orchestrator,
which trains the shards as Jobs on the attack's behalf, calls ``CompleteReferenceFanout`` for
that run and task. It also returns when the offer's timeout passes (with a warning in the run's
log), and raises ``Cancelled`` when the run is cancelled. Whatever the answer,
``train_references`` then reads the shards back from the adversary store and trains those that
are missing, so a failed or silent range costs time, never results.

``PendingFanouts`` is the servicer's registry of the runs that may ask, keyed by run id, with
the one request each is waiting on (no global state). Completions are checked before they wake
a run: an unknown run or task is ``NotFound``, a malformed outcome ``InvalidArgument``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from leakrange.artifacts.ref import is_sha256_ref
from leakrange.common.errors import Cancelled, InvalidArgument, NotFound

DEFAULT_TIMEOUT_S = 6 * 3600.0 + 300.0
"""How long a run waits when the offer names no timeout: the Jobs' default deadline plus a
margin for deleting the Job and calling back."""
MAX_REASON_CHARS = 200
MAX_INDEXES = 100_000
"""Kubernetes' limit on the completions of an Indexed Job with ``backoffLimitPerIndex``."""
_POLL_S = 0.2

EmitFn = Callable[[str, int], None]
LogFn = Callable[[str], None]


@dataclass(frozen=True)
class FanoutOffer:
    """What the range offers a run (RunRequest.reference_fanout)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    max_shards: int = 0  # 0: no limit

    @classmethod
    def checked(cls, timeout_seconds: int, max_shards: int) -> FanoutOffer:
        if timeout_seconds < 0:
            raise InvalidArgument("reference_fanout.timeout_seconds", "must be >= 0")
        if max_shards < 0:
            raise InvalidArgument("reference_fanout.max_shards", "must be >= 0")
        return cls(float(timeout_seconds) or DEFAULT_TIMEOUT_S, int(max_shards))


@dataclass(frozen=True)
class FanoutOutcome:
    """How the range's training ended (CompleteReferenceFanoutRequest.outcome)."""

    completed: frozenset[int]
    failed: frozenset[int]
    succeeded: bool
    reason: str = ""

    @classmethod
    def checked(cls, completed: Iterable[int], failed: Iterable[int], succeeded: bool,
                reason: str) -> FanoutOutcome:
        done, bad = _indexes(completed, "outcome.completed_indexes"), \
            _indexes(failed, "outcome.failed_indexes")
        if done & bad:
            raise InvalidArgument("outcome.failed_indexes",
                                  "must not repeat an index of completed_indexes")
        if len(reason) > MAX_REASON_CHARS:
            raise InvalidArgument("outcome.reason", f"must be at most {MAX_REASON_CHARS} "
                                  "characters")
        if succeeded and bad:
            raise InvalidArgument("outcome.succeeded", "cannot be true with failed indexes")
        return cls(done, bad, bool(succeeded), reason)


def _indexes(values: Iterable[int], field: str) -> frozenset[int]:
    listed = list(values)
    if len(listed) > MAX_INDEXES:
        raise InvalidArgument(field, f"must list at most {MAX_INDEXES} indexes")
    found = frozenset(int(v) for v in listed)
    if len(found) != len(listed) or any(v < 0 for v in found):
        raise InvalidArgument(field, "must be distinct indexes >= 0")
    return found


class _Waiter:
    """One request a run is waiting on."""

    def __init__(self, task: str, shards: int) -> None:
        self.task = task
        self.shards = shards
        self.done = threading.Event()
        self.outcome: FanoutOutcome | None = None


class PendingFanouts:
    """The runs of one attack service that may fan out, and what each is waiting for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _Waiter | None] = {}

    def open(self, run_id: str, offer: FanoutOffer, *, emit: EmitFn, log: LogFn,
             cancel: threading.Event) -> StreamFanout:
        """Register ``run_id`` (until ``close``) and return its ``ReferenceFanout``."""
        with self._lock:
            self._runs[run_id] = None
        return StreamFanout(self, run_id, offer, emit=emit, log=log, cancel=cancel)

    def close(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def complete(self, run_id: str, task: str, outcome: FanoutOutcome) -> None:
        """The range's answer to ``run_id``'s pending request for ``task``: wakes the run."""
        if not run_id:
            raise InvalidArgument("run_id", "required")
        if not is_sha256_ref(task):
            raise InvalidArgument("task", "must be sha256:<64 lowercase hex digits>")
        with self._lock:
            if run_id not in self._runs:
                raise NotFound("no active run with this run_id takes reference fan-outs")
            waiter = self._runs[run_id]
            if waiter is None or waiter.task != task:
                raise NotFound("this run is not waiting for a fan-out of that task")
            if any(i >= waiter.shards for i in outcome.completed | outcome.failed):
                raise InvalidArgument("outcome", "indexes must be below the request's shards")
            self._runs[run_id] = None
            waiter.outcome = outcome
            waiter.done.set()

    def wait_on(self, run_id: str, task: str, shards: int) -> _Waiter:
        """Make ``task`` the request ``run_id`` waits on (registered before it is emitted, so
        an answer cannot arrive first)."""
        with self._lock:
            if run_id not in self._runs:
                raise Cancelled("attack run ended")
            waiter = _Waiter(task, shards)
            self._runs[run_id] = waiter
            return waiter

    def forget(self, run_id: str, waiter: _Waiter) -> None:
        """The run stopped waiting on ``waiter``: a later answer for it is ``NotFound``."""
        with self._lock:
            if self._runs.get(run_id) is waiter:
                self._runs[run_id] = None


class StreamFanout:
    """``ReferenceFanout`` of one run: ask the range on the run's stream and wait for it."""

    def __init__(self, registry: PendingFanouts, run_id: str, offer: FanoutOffer, *,
                 emit: EmitFn, log: LogFn, cancel: threading.Event,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._registry = registry
        self._run_id = run_id
        self.offer = offer
        self._emit = emit
        self._log = log
        self._cancel = cancel
        self._clock = clock

    def train_shards(self, task: str, shards: int) -> None:
        """Return once the range has answered, the timeout has passed or (raising
        ``Cancelled``) the run was cancelled; the caller then trains what the store lacks."""
        if self.offer.max_shards and shards > self.offer.max_shards:
            self._log(f"warning: the range trains at most {self.offer.max_shards} reference "
                      f"shards per request, not {shards}; training them here")
            return
        waiter = self._registry.wait_on(self._run_id, task, shards)
        try:
            self._emit(task, shards)
            deadline = self._clock() + self.offer.timeout_s
            while not waiter.done.wait(_POLL_S):
                if self._cancel.is_set():
                    raise Cancelled("attack run cancelled")
                if self._clock() > deadline:
                    self._log(f"warning: the range did not finish the reference fan-out within "
                              f"{self.offer.timeout_s:.0f} s; training the missing shards here")
                    return
        finally:
            self._registry.forget(self._run_id, waiter)
        outcome = waiter.outcome
        if outcome is not None and not outcome.succeeded:
            self._log(f"warning: the range's reference fan-out failed "
                      f"({outcome.reason or 'no reason given'}; {len(outcome.failed)} of "
                      f"{shards} shards failed)")
