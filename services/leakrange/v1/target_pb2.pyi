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
    __slots__ = ("model_kind", "input_shape", "input_dtype", "num_classes", "class_names", "access", "remaining_budget", "max_batch", "dataset")
    MODEL_KIND_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    NUM_CLASSES_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    model_kind: str
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    input_dtype: _common_pb2.DType
    num_classes: int
    class_names: _containers.RepeatedScalarFieldContainer[str]
    access: _common_pb2.Access
    remaining_budget: int
    max_batch: int
    dataset: str
    def __init__(self, model_kind: _Optional[str] = ..., input_shape: _Optional[_Iterable[int]] = ..., input_dtype: _Optional[_Union[_common_pb2.DType, str]] = ..., num_classes: _Optional[int] = ..., class_names: _Optional[_Iterable[str]] = ..., access: _Optional[_Union[_common_pb2.Access, _Mapping]] = ..., remaining_budget: _Optional[int] = ..., max_batch: _Optional[int] = ..., dataset: _Optional[str] = ...) -> None: ...

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
