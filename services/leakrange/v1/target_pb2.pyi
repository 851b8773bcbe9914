from leakrange.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TargetInfo(_message.Message):
    __slots__ = ("model_kind", "input_shape", "input_dtype", "num_classes", "class_names", "access", "remaining_budget", "max_batch", "dataset", "language_model")
    MODEL_KIND_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    NUM_CLASSES_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_MODEL_FIELD_NUMBER: _ClassVar[int]
    model_kind: str
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    input_dtype: _common_pb2.DType
    num_classes: int
    class_names: _containers.RepeatedScalarFieldContainer[str]
    access: _common_pb2.Access
    remaining_budget: int
    max_batch: int
    dataset: str
    language_model: LanguageModelInfo
    def __init__(self, model_kind: _Optional[str] = ..., input_shape: _Optional[_Iterable[int]] = ..., input_dtype: _Optional[_Union[_common_pb2.DType, str]] = ..., num_classes: _Optional[int] = ..., class_names: _Optional[_Iterable[str]] = ..., access: _Optional[_Union[_common_pb2.Access, _Mapping]] = ..., remaining_budget: _Optional[int] = ..., max_batch: _Optional[int] = ..., dataset: _Optional[str] = ..., language_model: _Optional[_Union[LanguageModelInfo, _Mapping]] = ...) -> None: ...

class LanguageModelInfo(_message.Message):
    __slots__ = ("vocab_size", "max_sequence_length", "tokenizer_json", "bos_token_id", "eos_token_id", "pad_token_id", "max_new_tokens", "max_temperature")
    VOCAB_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQUENCE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_JSON_FIELD_NUMBER: _ClassVar[int]
    BOS_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    EOS_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    PAD_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    vocab_size: int
    max_sequence_length: int
    tokenizer_json: str
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int
    max_new_tokens: int
    max_temperature: float
    def __init__(self, vocab_size: _Optional[int] = ..., max_sequence_length: _Optional[int] = ..., tokenizer_json: _Optional[str] = ..., bos_token_id: _Optional[int] = ..., eos_token_id: _Optional[int] = ..., pad_token_id: _Optional[int] = ..., max_new_tokens: _Optional[int] = ..., max_temperature: _Optional[float] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("inputs",)
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    inputs: _common_pb2.Tensor
    def __init__(self, inputs: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("kind", "outputs", "indices", "remaining_budget")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    kind: _common_pb2.OutputKind
    outputs: _common_pb2.Tensor
    indices: _common_pb2.Tensor
    remaining_budget: int
    def __init__(self, kind: _Optional[_Union[_common_pb2.OutputKind, str]] = ..., outputs: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., indices: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., remaining_budget: _Optional[int] = ...) -> None: ...

class GetWeightsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScoreTokensRequest(_message.Message):
    __slots__ = ("tokens", "lengths")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    LENGTHS_FIELD_NUMBER: _ClassVar[int]
    tokens: _common_pb2.Tensor
    lengths: _common_pb2.Tensor
    def __init__(self, tokens: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., lengths: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class ScoreTokensResponse(_message.Message):
    __slots__ = ("kind", "values", "indices", "remaining_budget", "tokens_charged")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOKENS_CHARGED_FIELD_NUMBER: _ClassVar[int]
    kind: _common_pb2.OutputKind
    values: _common_pb2.Tensor
    indices: _common_pb2.Tensor
    remaining_budget: int
    tokens_charged: int
    def __init__(self, kind: _Optional[_Union[_common_pb2.OutputKind, str]] = ..., values: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., indices: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., remaining_budget: _Optional[int] = ..., tokens_charged: _Optional[int] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("prompts", "lengths", "max_new_tokens", "temperature", "top_k", "seed")
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    LENGTHS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    prompts: _common_pb2.Tensor
    lengths: _common_pb2.Tensor
    max_new_tokens: int
    temperature: float
    top_k: int
    seed: int
    def __init__(self, prompts: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., lengths: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_k: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("tokens", "lengths", "remaining_budget", "tokens_charged")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    LENGTHS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TOKENS_CHARGED_FIELD_NUMBER: _ClassVar[int]
    tokens: _common_pb2.Tensor
    lengths: _common_pb2.Tensor
    remaining_budget: int
    tokens_charged: int
    def __init__(self, tokens: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., lengths: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., remaining_budget: _Optional[int] = ..., tokens_charged: _Optional[int] = ...) -> None: ...
