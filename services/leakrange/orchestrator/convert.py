"""Domain records and events <-> ``leakrange.v1`` orchestrator messages."""

from __future__ import annotations

import logging

from google.protobuf.timestamp_pb2 import Timestamp

from leakrange.common.errors import RangeError
from leakrange.common.threat_model import ThreatModel
from leakrange.orchestrator.events import Event
from leakrange.orchestrator.records import AttackRecord, ExerciseRecord, ExerciseState
from leakrange.orchestrator.spec_loading import parse_spec
from leakrange.v1 import common_pb2, orchestrator_pb2

_STATE_TO_PROTO = {
    ExerciseState.QUEUED: orchestrator_pb2.EXERCISE_STATE_QUEUED,
    ExerciseState.RUNNING: orchestrator_pb2.EXERCISE_STATE_RUNNING,
    ExerciseState.SUCCEEDED: orchestrator_pb2.EXERCISE_STATE_SUCCEEDED,
    ExerciseState.FAILED: orchestrator_pb2.EXERCISE_STATE_FAILED,
    ExerciseState.CANCELLED: orchestrator_pb2.EXERCISE_STATE_CANCELLED,
    ExerciseState.INTERRUPTED: orchestrator_pb2.EXERCISE_STATE_INTERRUPTED,
}
_PROTO_TO_STATE = {v: k for k, v in _STATE_TO_PROTO.items()}

log = logging.getLogger(__name__)


def state_to_proto(state: ExerciseState) -> int:
    return _STATE_TO_PROTO[state]


def state_from_proto(code: int) -> ExerciseState | None:
    return _PROTO_TO_STATE.get(code)


def _timestamp(seconds: float | None) -> Timestamp | None:
    if seconds is None:
        return None
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def attack_to_proto(record: AttackRecord) -> orchestrator_pb2.AttackSummary:
    metrics = []
    for m in (*record.metrics, *record.facts):
        msg = common_pb2.Metric(name=m.name, value=m.value)
        if m.ci_low is not None:
            msg.ci_low = m.ci_low
        if m.ci_high is not None:
            msg.ci_high = m.ci_high
        metrics.append(msg)
    # Named adversaries are told apart in the summary; default names (<family>-<n>) are not.
    attack = record.attack if record.adversary.startswith(f"{record.family}-") \
        else f"{record.attack} ({record.adversary})"
    return orchestrator_pb2.AttackSummary(
        family=record.family, attack=attack, status=record.status, message=record.message,
        metrics=metrics,
    )


def _threat_model(record: ExerciseRecord) -> ThreatModel | None:
    try:
        return parse_spec(record.spec_yaml).threat_model
    except RangeError:
        return None


def exercise_to_proto(record: ExerciseRecord) -> orchestrator_pb2.Exercise:
    msg = orchestrator_pb2.Exercise(
        id=record.id, name=record.name, state=state_to_proto(record.state),
        message=record.message, attacks=[attack_to_proto(a) for a in record.attacks],
        risk_level=record.risk_level,
    )
    for field, value in (("created_at", record.created_at), ("started_at", record.started_at),
                         ("finished_at", record.finished_at)):
        ts = _timestamp(value)
        if ts is not None:
            getattr(msg, field).CopyFrom(ts)
    threat = _threat_model(record)
    if threat is not None:
        try:
            msg.threat_model.CopyFrom(threat.to_proto())
        except ValueError:  # a row stored before the spec bounds: list it without its threat
            log.warning("stored threat model does not fit the wire", extra={"exercise": record.id})
    if record.report_json is not None:
        msg.report_json.CopyFrom(record.report_json.to_proto())
    if record.report_html is not None:
        msg.report_html.CopyFrom(record.report_html.to_proto())
    return msg


def event_to_proto(event: Event) -> list[orchestrator_pb2.ExerciseEvent]:
    """One domain event -> one or two wire events (a state change may carry a log line)."""
    ts = _timestamp(event.time)
    out: list[orchestrator_pb2.ExerciseEvent] = []

    def new() -> orchestrator_pb2.ExerciseEvent:
        msg = orchestrator_pb2.ExerciseEvent(exercise_id=event.exercise_id)
        if ts is not None:
            msg.time.CopyFrom(ts)
        return msg

    if event.log is not None:
        msg = new()
        msg.log.CopyFrom(common_pb2.LogEvent(level=common_pb2.LOG_LEVEL_INFO, message=event.log))
        out.append(msg)
    if event.progress is not None:
        p = event.progress
        label = "/".join(part for part in (p.adversary, p.attack) if part)
        text = f"{label}: {p.message}" if label and p.message else (label or p.message)
        msg = new()
        msg.progress.CopyFrom(common_pb2.ProgressEvent(
            phase=p.phase, done=p.done, total=p.total, message=text))
        out.append(msg)
    if event.attack_finished is not None:
        msg = new()
        msg.attack_finished.CopyFrom(attack_to_proto(event.attack_finished))
        out.append(msg)
    if event.state is not None:
        msg = new()
        msg.state = state_to_proto(event.state)
        out.append(msg)
    return out
