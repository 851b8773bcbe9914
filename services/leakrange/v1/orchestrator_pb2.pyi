import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from leakrange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExerciseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXERCISE_STATE_UNSPECIFIED: _ClassVar[ExerciseState]
    EXERCISE_STATE_QUEUED: _ClassVar[ExerciseState]
    EXERCISE_STATE_RUNNING: _ClassVar[ExerciseState]
    EXERCISE_STATE_SUCCEEDED: _ClassVar[ExerciseState]
    EXERCISE_STATE_FAILED: _ClassVar[ExerciseState]
    EXERCISE_STATE_CANCELLED: _ClassVar[ExerciseState]
    EXERCISE_STATE_INTERRUPTED: _ClassVar[ExerciseState]

class ReportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_FORMAT_UNSPECIFIED: _ClassVar[ReportFormat]
    REPORT_FORMAT_JSON: _ClassVar[ReportFormat]
    REPORT_FORMAT_HTML: _ClassVar[ReportFormat]
EXERCISE_STATE_UNSPECIFIED: ExerciseState
EXERCISE_STATE_QUEUED: ExerciseState
EXERCISE_STATE_RUNNING: ExerciseState
EXERCISE_STATE_SUCCEEDED: ExerciseState
EXERCISE_STATE_FAILED: ExerciseState
EXERCISE_STATE_CANCELLED: ExerciseState
EXERCISE_STATE_INTERRUPTED: ExerciseState
REPORT_FORMAT_UNSPECIFIED: ReportFormat
REPORT_FORMAT_JSON: ReportFormat
REPORT_FORMAT_HTML: ReportFormat

class SubmitRequest(_message.Message):
    __slots__ = ("spec_yaml",)
    SPEC_YAML_FIELD_NUMBER: _ClassVar[int]
    spec_yaml: str
    def __init__(self, spec_yaml: _Optional[str] = ...) -> None: ...

class AttackSummary(_message.Message):
    __slots__ = ("family", "attack", "status", "message", "metrics")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    ATTACK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    family: str
    attack: str
    status: str
    message: str
    metrics: _containers.RepeatedCompositeFieldContainer[_common_pb2.Metric]
    def __init__(self, family: _Optional[str] = ..., attack: _Optional[str] = ..., status: _Optional[str] = ..., message: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[_common_pb2.Metric, _Mapping]]] = ...) -> None: ...

class Exercise(_message.Message):
    __slots__ = ("id", "name", "state", "message", "created_at", "started_at", "finished_at", "threat_model", "attacks", "report_json", "report_html", "risk_level")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    THREAT_MODEL_FIELD_NUMBER: _ClassVar[int]
    ATTACKS_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    REPORT_HTML_FIELD_NUMBER: _ClassVar[int]
    RISK_LEVEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    state: ExerciseState
    message: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    threat_model: _common_pb2.ThreatModel
    attacks: _containers.RepeatedCompositeFieldContainer[AttackSummary]
    report_json: _common_pb2.ArtifactRef
    report_html: _common_pb2.ArtifactRef
    risk_level: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[ExerciseState, str]] = ..., message: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., threat_model: _Optional[_Union[_common_pb2.ThreatModel, _Mapping]] = ..., attacks: _Optional[_Iterable[_Union[AttackSummary, _Mapping]]] = ..., report_json: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., report_html: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., risk_level: _Optional[str] = ...) -> None: ...

class GetExerciseRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListExercisesRequest(_message.Message):
    __slots__ = ("states", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[ExerciseState]
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[ExerciseState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExercisesResponse(_message.Message):
    __slots__ = ("exercises", "next_page_token")
    EXERCISES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    exercises: _containers.RepeatedCompositeFieldContainer[Exercise]
    next_page_token: str
    def __init__(self, exercises: _Optional[_Iterable[_Union[Exercise, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExerciseEvent(_message.Message):
    __slots__ = ("exercise_id", "time", "state", "progress", "log", "attack_finished")
    EXERCISE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    ATTACK_FINISHED_FIELD_NUMBER: _ClassVar[int]
    exercise_id: str
    time: _timestamp_pb2.Timestamp
    state: ExerciseState
    progress: _common_pb2.ProgressEvent
    log: _common_pb2.LogEvent
    attack_finished: AttackSummary
    def __init__(self, exercise_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[ExerciseState, str]] = ..., progress: _Optional[_Union[_common_pb2.ProgressEvent, _Mapping]] = ..., log: _Optional[_Union[_common_pb2.LogEvent, _Mapping]] = ..., attack_finished: _Optional[_Union[AttackSummary, _Mapping]] = ...) -> None: ...

class CancelExerciseRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("id", "format")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: ReportFormat
    def __init__(self, id: _Optional[str] = ..., format: _Optional[_Union[ReportFormat, str]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("format", "content_type", "content", "artifact")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    format: ReportFormat
    content_type: str
    content: bytes
    artifact: _common_pb2.ArtifactRef
    def __init__(self, format: _Optional[_Union[ReportFormat, str]] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., artifact: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ...) -> None: ...
