"""Thin gRPC servicer for ``leakrange.v1.Orchestrator``: proto <-> ``Orchestrator`` calls."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from leakrange.common.errors import InvalidArgument
from leakrange.orchestrator.convert import event_to_proto, exercise_to_proto, state_from_proto
from leakrange.orchestrator.manager import Orchestrator, ReportFormat
from leakrange.orchestrator.records import ExerciseState
from leakrange.v1 import orchestrator_pb2, orchestrator_pb2_grpc

MAX_SPEC_CHARS = 256 * 1024


def _id(value: str) -> str:
    if not value:
        raise InvalidArgument("id", "required")
    if len(value) > 64:
        raise InvalidArgument("id", "too long")
    return value


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServicer):
    def __init__(self, orchestrator: Orchestrator) -> None:
        self._o = orchestrator

    def Submit(self, request, context) -> orchestrator_pb2.Exercise:
        if not request.spec_yaml:
            raise InvalidArgument("spec_yaml", "required")
        if len(request.spec_yaml) > MAX_SPEC_CHARS:
            raise InvalidArgument("spec_yaml", "too large")
        return exercise_to_proto(self._o.submit(request.spec_yaml))

    def Get(self, request, context) -> orchestrator_pb2.Exercise:
        return exercise_to_proto(self._o.get(_id(request.id)))

    def List(self, request, context) -> orchestrator_pb2.ListExercisesResponse:
        states: list[ExerciseState] = []
        for code in request.states:
            state = state_from_proto(code)
            if state is None:
                raise InvalidArgument("states", "unknown exercise state")
            states.append(state)
        records, token = self._o.list_exercises(states, request.page_size, request.page_token)
        return orchestrator_pb2.ListExercisesResponse(
            exercises=[exercise_to_proto(r) for r in records], next_page_token=token
        )

    def Watch(self, request, context: grpc.ServicerContext
              ) -> Iterator[orchestrator_pb2.ExerciseEvent]:
        for event in self._o.watch(_id(request.id), context.is_active):
            yield from event_to_proto(event)

    def Cancel(self, request, context) -> orchestrator_pb2.Exercise:
        return exercise_to_proto(self._o.cancel(_id(request.id)))

    def Resume(self, request, context) -> orchestrator_pb2.Exercise:
        return exercise_to_proto(self._o.resume(_id(request.id)))

    def GetReport(self, request, context) -> orchestrator_pb2.Report:
        fmt: ReportFormat = "html" if request.format == orchestrator_pb2.REPORT_FORMAT_HTML \
            else "json"
        content, ref = self._o.report(_id(request.id), fmt)
        return orchestrator_pb2.Report(
            format=orchestrator_pb2.REPORT_FORMAT_HTML if fmt == "html"
            else orchestrator_pb2.REPORT_FORMAT_JSON,
            content_type=ref.media_type, content=content, artifact=ref.to_proto(),
        )
