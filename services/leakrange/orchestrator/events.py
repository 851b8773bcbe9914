"""Exercise events (state changes, progress, logs, finished attacks) and their fan-out.

``EventHub`` keeps each exercise's events in memory so a ``Watch`` that starts late replays
them; once an exercise is final only the non-progress events are kept. After a restart a
watcher is seeded from the persisted record instead (see ``Orchestrator.watch``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from leakrange.orchestrator.records import FINAL_STATES, AttackRecord, ExerciseState

MAX_EVENTS_PER_EXERCISE = 5000


@dataclass(frozen=True)
class Progress:
    phase: str  # target_training | deploying | reference_training | querying | scoring | ...
    done: int
    total: int
    message: str = ""
    adversary: str = ""
    attack: str = ""


@dataclass(frozen=True)
class Event:
    exercise_id: str
    time: float = field(default_factory=time.time)
    state: ExerciseState | None = None
    progress: Progress | None = None
    log: str | None = None
    attack_finished: AttackRecord | None = None

    @property
    def is_final(self) -> bool:
        return self.state is not None and self.state in FINAL_STATES


class _Channel:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.dropped = 0  # events trimmed from the front; positions are absolute


class EventHub:
    """Publish/subscribe per exercise, with replay. Thread-safe."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}
        self._cond = threading.Condition()

    def publish(self, event: Event) -> None:
        with self._cond:
            channel = self._channels.setdefault(event.exercise_id, _Channel())
            channel.events.append(event)
            if event.is_final:
                # Followers keep reading the old channel up to this event; later watchers get
                # a compact copy without the progress events.
                compact = _Channel()
                compact.events = [e for e in channel.events if e.progress is None]
                self._channels[event.exercise_id] = compact
            elif len(channel.events) > MAX_EVENTS_PER_EXERCISE:
                cut = len(channel.events) - MAX_EVENTS_PER_EXERCISE
                channel.dropped += cut
                channel.events = channel.events[cut:]
            self._cond.notify_all()

    def seed(self, exercise_id: str, events: Iterable[Event]) -> None:
        """Give an exercise without a channel its past (from the persisted record)."""
        with self._cond:
            if exercise_id not in self._channels:
                channel = _Channel()
                channel.events = list(events)
                self._channels[exercise_id] = channel

    def has(self, exercise_id: str) -> bool:
        with self._cond:
            return exercise_id in self._channels

    def reopen(self, exercise_id: str) -> None:
        """A resumed exercise: new events follow, old final state no longer ends a watch."""
        with self._cond:
            self._channels[exercise_id] = _Channel()

    def follow(
        self, exercise_id: str, is_active: Callable[[], bool], poll: float = 0.5
    ) -> Iterator[Event]:
        """Replay, then follow live events until a final state (or ``is_active()`` is false)."""
        with self._cond:
            channel = self._channels.setdefault(exercise_id, _Channel())
        position = 0
        while True:
            with self._cond:
                position = max(position, channel.dropped)
                pending = channel.events[position - channel.dropped:]
                if not pending:
                    self._cond.wait(poll)
                    pending = channel.events[position - channel.dropped:]
                position += len(pending)
            for event in pending:
                yield event
                if event.is_final:
                    return
            if not is_active():
                return
