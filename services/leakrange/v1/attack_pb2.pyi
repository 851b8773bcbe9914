from leakrange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Family(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAMILY_UNSPECIFIED: _ClassVar[Family]
    FAMILY_MIA: _ClassVar[Family]
    FAMILY_INVERSION: _ClassVar[Family]
    FAMILY_FEDERATED: _ClassVar[Family]
    FAMILY_SYNTHETIC: _ClassVar[Family]
FAMILY_UNSPECIFIED: Family
FAMILY_MIA: Family
FAMILY_INVERSION: Family
FAMILY_FEDERATED: Family
FAMILY_SYNTHETIC: Family

class AttackInfo(_message.Message):
    __slots__ = ("name", "family", "summary", "paper", "supported_outputs", "requires_white_box", "uses_reference_models", "params_schema_json", "result_kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PAPER_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_WHITE_BOX_FIELD_NUMBER: _ClassVar[int]
    USES_REFERENCE_MODELS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    family: Family
    summary: str
    paper: str
    supported_outputs: _containers.RepeatedScalarFieldContainer[_common_pb2.OutputKind]
    requires_white_box: bool
    uses_reference_models: bool
    params_schema_json: str
    result_kind: str
    def __init__(self, name: _Optional[str] = ..., family: _Optional[_Union[Family, str]] = ..., summary: _Optional[str] = ..., paper: _Optional[str] = ..., supported_outputs: _Optional[_Iterable[_Union[_common_pb2.OutputKind, str]]] = ..., requires_white_box: _Optional[bool] = ..., uses_reference_models: _Optional[bool] = ..., params_schema_json: _Optional[str] = ..., result_kind: _Optional[str] = ...) -> None: ...

class ListAttacksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAttacksResponse(_message.Message):
    __slots__ = ("attacks",)
    ATTACKS_FIELD_NUMBER: _ClassVar[int]
    attacks: _containers.RepeatedCompositeFieldContainer[AttackInfo]
    def __init__(self, attacks: _Optional[_Iterable[_Union[AttackInfo, _Mapping]]] = ...) -> None: ...

class TargetEndpoint(_message.Message):
    __slots__ = ("address", "token")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    address: str
    token: str
    def __init__(self, address: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class TensorBundle(_message.Message):
    __slots__ = ("tensors",)
    class TensorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Tensor
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    tensors: _containers.MessageMap[str, _common_pb2.Tensor]
    def __init__(self, tensors: _Optional[_Mapping[str, _common_pb2.Tensor]] = ...) -> None: ...

class AdversaryData(_message.Message):
    __slots__ = ("audit", "population", "audit_artifact", "population_artifact", "federated_observation", "synthetic_data", "dataset", "model_spec_json", "recipe_json", "synthetic", "table_schema_json", "text")
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    POPULATION_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FEDERATED_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_DATA_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MODEL_SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    RECIPE_JSON_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_FIELD_NUMBER: _ClassVar[int]
    TABLE_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    audit: TensorBundle
    population: TensorBundle
    audit_artifact: _common_pb2.ArtifactRef
    population_artifact: _common_pb2.ArtifactRef
    federated_observation: _common_pb2.ArtifactRef
    synthetic_data: _common_pb2.ArtifactRef
    dataset: str
    model_spec_json: str
    recipe_json: str
    synthetic: TensorBundle
    table_schema_json: str
    text: TextData
    def __init__(self, audit: _Optional[_Union[TensorBundle, _Mapping]] = ..., population: _Optional[_Union[TensorBundle, _Mapping]] = ..., audit_artifact: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., population_artifact: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., federated_observation: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., synthetic_data: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ..., dataset: _Optional[str] = ..., model_spec_json: _Optional[str] = ..., recipe_json: _Optional[str] = ..., synthetic: _Optional[_Union[TensorBundle, _Mapping]] = ..., table_schema_json: _Optional[str] = ..., text: _Optional[_Union[TextData, _Mapping]] = ...) -> None: ...

class TextData(_message.Message):
    __slots__ = ("canary_candidates", "canary_prefix", "canary_secret_tokens")
    CANARY_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CANARY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CANARY_SECRET_TOKENS_FIELD_NUMBER: _ClassVar[int]
    canary_candidates: _common_pb2.Tensor
    canary_prefix: _common_pb2.Tensor
    canary_secret_tokens: int
    def __init__(self, canary_candidates: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., canary_prefix: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., canary_secret_tokens: _Optional[int] = ...) -> None: ...

class RunRequest(_message.Message):
    __slots__ = ("run_id", "attack", "params_json", "threat_model", "target", "data", "seed", "reference_fanout")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACK_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    THREAT_MODEL_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FANOUT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    attack: str
    params_json: str
    threat_model: _common_pb2.ThreatModel
    target: TargetEndpoint
    data: AdversaryData
    seed: int
    reference_fanout: ReferenceFanoutOffer
    def __init__(self, run_id: _Optional[str] = ..., attack: _Optional[str] = ..., params_json: _Optional[str] = ..., threat_model: _Optional[_Union[_common_pb2.ThreatModel, _Mapping]] = ..., target: _Optional[_Union[TargetEndpoint, _Mapping]] = ..., data: _Optional[_Union[AdversaryData, _Mapping]] = ..., seed: _Optional[int] = ..., reference_fanout: _Optional[_Union[ReferenceFanoutOffer, _Mapping]] = ...) -> None: ...

class ReferenceFanoutOffer(_message.Message):
    __slots__ = ("timeout_seconds", "max_shards")
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SHARDS_FIELD_NUMBER: _ClassVar[int]
    timeout_seconds: int
    max_shards: int
    def __init__(self, timeout_seconds: _Optional[int] = ..., max_shards: _Optional[int] = ...) -> None: ...

class ReferenceFanoutRequest(_message.Message):
    __slots__ = ("task", "shards")
    TASK_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    task: str
    shards: int
    def __init__(self, task: _Optional[str] = ..., shards: _Optional[int] = ...) -> None: ...

class AttackResult(_message.Message):
    __slots__ = ("attack", "family", "scores", "reconstructions", "reconstructed_labels", "outputs", "metrics", "artifact")
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Tensor
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...
    ATTACK_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    RECONSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    RECONSTRUCTED_LABELS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    attack: str
    family: Family
    scores: _common_pb2.Tensor
    reconstructions: _common_pb2.Tensor
    reconstructed_labels: _common_pb2.Tensor
    outputs: _containers.MessageMap[str, _common_pb2.Tensor]
    metrics: _containers.RepeatedCompositeFieldContainer[_common_pb2.Metric]
    artifact: _common_pb2.ArtifactRef
    def __init__(self, attack: _Optional[str] = ..., family: _Optional[_Union[Family, str]] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., reconstructions: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., reconstructed_labels: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., outputs: _Optional[_Mapping[str, _common_pb2.Tensor]] = ..., metrics: _Optional[_Iterable[_Union[_common_pb2.Metric, _Mapping]]] = ..., artifact: _Optional[_Union[_common_pb2.ArtifactRef, _Mapping]] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("progress", "log", "result", "reference_fanout")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FANOUT_FIELD_NUMBER: _ClassVar[int]
    progress: _common_pb2.ProgressEvent
    log: _common_pb2.LogEvent
    result: AttackResult
    reference_fanout: ReferenceFanoutRequest
    def __init__(self, progress: _Optional[_Union[_common_pb2.ProgressEvent, _Mapping]] = ..., log: _Optional[_Union[_common_pb2.LogEvent, _Mapping]] = ..., result: _Optional[_Union[AttackResult, _Mapping]] = ..., reference_fanout: _Optional[_Union[ReferenceFanoutRequest, _Mapping]] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: bool
    def __init__(self, cancelled: _Optional[bool] = ...) -> None: ...

class ReferenceFanoutOutcome(_message.Message):
    __slots__ = ("completed_indexes", "failed_indexes", "succeeded", "reason")
    COMPLETED_INDEXES_FIELD_NUMBER: _ClassVar[int]
    FAILED_INDEXES_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    completed_indexes: _containers.RepeatedScalarFieldContainer[int]
    failed_indexes: _containers.RepeatedScalarFieldContainer[int]
    succeeded: bool
    reason: str
    def __init__(self, completed_indexes: _Optional[_Iterable[int]] = ..., failed_indexes: _Optional[_Iterable[int]] = ..., succeeded: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class CompleteReferenceFanoutRequest(_message.Message):
    __slots__ = ("run_id", "task", "outcome")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    task: str
    outcome: ReferenceFanoutOutcome
    def __init__(self, run_id: _Optional[str] = ..., task: _Optional[str] = ..., outcome: _Optional[_Union[ReferenceFanoutOutcome, _Mapping]] = ...) -> None: ...

class CompleteReferenceFanoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
