"""The orchestrator's half of reference-model fan-out: it trains an attack run's shards as Jobs.

An attack service runs in the adversary pod without Kubernetes API access, so it cannot create
the Indexed Jobs that train its reference shards elsewhere. The orchestrator does it on the
attack's behalf, over the attack's own ``Run`` call:

1. When the backend can fan reference training out (``RangeBackend.reference_fanout``: the
   Kubernetes backend's ``ReferenceJobs`` when the exercise chart's ``referenceTraining`` is
   enabled), the runner puts a ``ReferenceFanoutOffer`` into the ``RunRequest``.
2. The attack writes its task document to the adversary store and emits a
   ``ReferenceFanoutRequest`` event (task reference, shards), then waits.
3. ``FanoutRelay.handle`` checks the request and runs ``ShardJobs.run(task, shards)`` in a
   worker thread (the runner's loop keeps reading the stream): the Job is created, followed and
   deleted.
4. The relay calls ``CompleteReferenceFanout(run_id, task, outcome)``; the attack resumes,
   reads the shards from its store and trains any that are missing itself.

A Job that fails, or an API server that refuses it, is still answered (with ``succeeded =
false`` and a short reason), so the attack trains locally without waiting for its timeout. When
the exercise stops, or the run's stream ends first, the Job is followed no further and deleted
(``ReferenceJobs`` checks ``should_stop`` between polls) and no answer is sent. One request runs
at a time per run; the task must look like a task reference and the shards are bounded, since
they come from the adversary's side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import grpc

from leakrange.artifacts.ref import is_sha256_ref
from leakrange.common.errors import Cancelled, RangeError
from leakrange.v1 import attack_pb2, attack_pb2_grpc

if TYPE_CHECKING:
    from leakrange.orchestrator.backend import RangeBackend

log = logging.getLogger(__name__)

MAX_SHARDS = 1024
"""Most shards (Job completion indexes, 64 reference models each) one request may ask for."""
ANSWER_MARGIN_S = 300.0
"""Beyond the Jobs' deadline, the time the attack waits for the answer: deleting the Job and
calling back."""
COMPLETE_TIMEOUT_S = 30.0
JOIN_TIMEOUT_S = 60.0
"""Longest ``close`` waits for a worker to delete its Job (a poll plus one API request)."""
MAX_REASON_CHARS = 200


class ShardOutcome(Protocol):
    """How the Jobs of one request ended (``ReferenceJobs``' ``JobOutcome``)."""

    @property
    def completed(self) -> frozenset[int]: ...

    @property
    def failed(self) -> frozenset[int]: ...

    @property
    def succeeded(self) -> bool: ...


class ShardJobs(Protocol):
    """Trains the shards of a stored task elsewhere (``ReferenceJobs``)."""

    @property
    def timeout_s(self) -> float: ...

    def run(self, task: str, shards: int) -> ShardOutcome: ...


NoteFn = Callable[[str], None]


class FanoutRelay:
    """Serves the ``ReferenceFanoutRequest`` events of one attack run (see the module doc)."""

    def __init__(self, run_id: str, stopped: Callable[[], bool], note: NoteFn) -> None:
        self.run_id = run_id
        self._stopped = stopped
        self._note = note
        self._closed = threading.Event()
        self._jobs: ShardJobs | None = None
        self._workers: list[threading.Thread] = []

    @classmethod
    def open(cls, backend: RangeBackend, exercise_id: str, run_id: str,
             stopped: Callable[[], bool], note: NoteFn) -> FanoutRelay | None:
        """A relay for one run, or None when the backend cannot fan reference training out."""
        relay = cls(run_id, stopped, note)
        jobs = backend.reference_fanout(exercise_id, relay.should_stop)
        if jobs is None:
            return None
        relay._jobs = jobs
        return relay

    def should_stop(self) -> bool:
        """The Jobs stop being followed (and are deleted) once the exercise stops or the run's
        stream has ended."""
        return self._closed.is_set() or self._stopped()

    def offer(self) -> attack_pb2.ReferenceFanoutOffer:
        assert self._jobs is not None
        return attack_pb2.ReferenceFanoutOffer(
            timeout_seconds=int(self._jobs.timeout_s + ANSWER_MARGIN_S), max_shards=MAX_SHARDS)

    def handle(self, request: attack_pb2.ReferenceFanoutRequest,
               stub: attack_pb2_grpc.AttackStub) -> None:
        """Start training the request's shards in a worker thread; never blocks on the Jobs."""
        task, shards = request.task, int(request.shards)
        if any(worker.is_alive() for worker in self._workers):
            problem = "the range trains one fan-out per run at a time"
        elif not is_sha256_ref(task):
            problem = "the request's task is not a task reference"
        elif not 1 <= shards <= MAX_SHARDS:
            problem = f"the request's shards must be between 1 and {MAX_SHARDS}"
        else:
            problem = ""
        worker = threading.Thread(target=self._serve, args=(stub, task, shards, problem),
                                  name=f"fanout-{self.run_id}", daemon=True)
        self._workers.append(worker)
        worker.start()

    def close(self) -> None:
        """The run's stream has ended: stop following its Job and wait until it is deleted."""
        self._closed.set()
        for worker in self._workers:
            worker.join(JOIN_TIMEOUT_S)

    def _serve(self, stub: attack_pb2_grpc.AttackStub, task: str, shards: int,
               problem: str) -> None:
        if self.should_stop():
            return  # the run ended or the exercise is stopping before the Job was created
        outcome = attack_pb2.ReferenceFanoutOutcome(succeeded=False, reason=problem)
        if not problem:
            assert self._jobs is not None
            self._note(f"training {shards} reference shards as Kubernetes Job pods")
            try:
                ended = self._jobs.run(task, shards)
            except Cancelled:
                return  # the exercise is stopping: the Job is deleted and nobody waits
            except RangeError as err:
                outcome.reason = str(err)[:MAX_REASON_CHARS]
            except Exception:
                log.exception("reference fan-out failed", extra={"run": self.run_id})
                outcome.reason = "internal error in the range (see the orchestrator log)"
            else:
                outcome = _outcome(ended, shards)
                self._note(f"reference shard Jobs ended: {len(outcome.completed_indexes)} of "
                           f"{shards} completed")
        if self.should_stop():
            return  # the run has ended or is being cancelled: nobody waits for the answer
        try:
            stub.CompleteReferenceFanout(attack_pb2.CompleteReferenceFanoutRequest(
                run_id=self.run_id, task=task, outcome=outcome), timeout=COMPLETE_TIMEOUT_S)
        except grpc.RpcError as err:  # the run stopped waiting (timeout) or ended
            log.warning("the attack took no answer to its reference fan-out",
                        extra={"run": self.run_id, "code": err.code().name})


def _outcome(ended: ShardOutcome, shards: int) -> attack_pb2.ReferenceFanoutOutcome:
    """The Jobs' end as the attack takes it: indexes of the request only, none both completed
    and failed, and a reason when not every shard completed."""
    completed = sorted(i for i in ended.completed if i < shards)
    failed = sorted(i for i in ended.failed - ended.completed if i < shards)
    succeeded = len(completed) == shards
    reason = "" if succeeded else (
        f"{len(failed)} shard pods failed after their retries" if failed
        else "the Job ended or ran past its deadline before every shard completed")
    return attack_pb2.ReferenceFanoutOutcome(completed_indexes=completed, failed_indexes=failed,
                                             succeeded=succeeded, reason=reason)
