"""``OrchestratorClient``: the CLI's (and any Python caller's) way to a remote orchestrator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import grpc

from leakrange.common.client import open_channel
from leakrange.common.errors import RangeError, Unavailable, from_rpc_error
from leakrange.v1 import orchestrator_pb2, orchestrator_pb2_grpc


class OrchestratorClient:
    """Each call raises the domain error matching the status the orchestrator returned."""

    def __init__(self, address: str, token: str | None = None, timeout: float = 60.0) -> None:
        self._address = address
        self._channel = open_channel(address, token)
        self._stub = orchestrator_pb2_grpc.OrchestratorStub(self._channel)
        self._timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> OrchestratorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, request: object) -> object:
        try:
            return getattr(self._stub, method)(request, timeout=self._timeout)
        except grpc.RpcError as err:
            raise self._error(err) from None

    def _error(self, err: grpc.RpcError) -> RangeError:
        """The domain error; an unreachable orchestrator gets a message a user can act on
        instead of gRPC's connection details."""
        if err.code() == grpc.StatusCode.UNAVAILABLE:
            return Unavailable(f"cannot reach the orchestrator at {self._address[:200]} "
                               "(is it running? check --endpoint)")
        return from_rpc_error(err)

    def submit(self, spec_yaml: str) -> orchestrator_pb2.Exercise:
        return self._call("Submit", orchestrator_pb2.SubmitRequest(spec_yaml=spec_yaml))  # type: ignore[return-value]

    def get(self, exercise_id: str) -> orchestrator_pb2.Exercise:
        return self._call("Get", orchestrator_pb2.GetExerciseRequest(id=exercise_id))  # type: ignore[return-value]

    def list(self, states: list[int] | None = None, page_size: int = 100, page_token: str = ""
             ) -> orchestrator_pb2.ListExercisesResponse:
        request = orchestrator_pb2.ListExercisesRequest(
            states=states or [], page_size=page_size, page_token=page_token)
        return self._call("List", request)  # type: ignore[return-value]

    def cancel(self, exercise_id: str) -> orchestrator_pb2.Exercise:
        return self._call("Cancel", orchestrator_pb2.CancelExerciseRequest(id=exercise_id))  # type: ignore[return-value]

    def resume(self, exercise_id: str) -> orchestrator_pb2.Exercise:
        return self._call("Resume", orchestrator_pb2.ResumeRequest(id=exercise_id))  # type: ignore[return-value]

    def report(self, exercise_id: str, fmt: Literal["json", "html"] = "json"
               ) -> orchestrator_pb2.Report:
        code = orchestrator_pb2.REPORT_FORMAT_HTML if fmt == "html" \
            else orchestrator_pb2.REPORT_FORMAT_JSON
        return self._call("GetReport", orchestrator_pb2.GetReportRequest(  # type: ignore[return-value]
            id=exercise_id, format=code))

    def watch(self, exercise_id: str) -> Iterator[orchestrator_pb2.ExerciseEvent]:
        """Events until the exercise is final (no deadline: exercises can run for hours)."""
        try:
            yield from self._stub.Watch(orchestrator_pb2.WatchRequest(id=exercise_id))
        except grpc.RpcError as err:
            raise self._error(err) from None
