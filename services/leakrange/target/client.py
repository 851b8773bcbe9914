"""TargetClient: how adversaries (and tests) reach a target, only through its gRPC API."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import numpy as np

from leakrange.artifacts import ArtifactRef
from leakrange.common.client import open_channel
from leakrange.common.errors import from_rpc_error
from leakrange.common.tensors import from_proto, to_proto
from leakrange.common.threat_model import Access, OutputKind, output_kind_from_proto
from leakrange.v1 import target_pb2, target_pb2_grpc


@dataclass(frozen=True)
class TargetDescription:
    model_kind: str
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: list[str]
    output: OutputKind
    top_k: int
    rounding: int | None
    query_budget: int
    white_box: bool
    remaining_budget: int  # UNLIMITED_REMAINING (-1): no limit (common.query_budget)
    max_batch: int
    dataset: str


@dataclass(frozen=True)
class PredictOutput:
    kind: OutputKind
    outputs: np.ndarray  # [n, C] floats, [n, k] floats for topk, [n] int64 labels
    indices: np.ndarray | None  # topk class indices [n, k]
    remaining_budget: int
    records: int


class TargetClient:
    """Batches queries to the Target service; gRPC errors become domain errors."""

    def __init__(self, address: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.address = address
        self._channel = open_channel(address, token)
        self._stub = target_pb2_grpc.TargetStub(self._channel)
        self._timeout = timeout
        self._description: TargetDescription | None = None
        self.records_queried = 0

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> TargetDescription:
        try:
            info = self._stub.Describe(target_pb2.DescribeRequest(), timeout=self._timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        a = Access.from_proto(info.access)
        self._description = TargetDescription(
            model_kind=info.model_kind,
            input_shape=tuple(int(d) for d in info.input_shape),
            num_classes=info.num_classes,
            class_names=list(info.class_names),
            output=a.output,
            top_k=a.top_k,
            rounding=a.rounding,
            query_budget=a.query_budget,
            white_box=a.white_box,
            remaining_budget=info.remaining_budget,
            max_batch=info.max_batch,
            dataset=info.dataset,
        )
        return self._description

    def predict(self, x: np.ndarray, batch_size: int | None = None) -> PredictOutput:
        """Query all records in ``x``, in batches of at most the target's max batch."""
        desc = self._description or self.describe()
        size = min(batch_size or desc.max_batch, desc.max_batch)
        outs: list[np.ndarray] = []
        idx: list[np.ndarray] = []
        remaining = desc.remaining_budget
        kind: OutputKind = desc.output
        x = np.ascontiguousarray(x, dtype=np.float32)
        for start in range(0, len(x), size):
            request = target_pb2.PredictRequest(inputs=to_proto(x[start:start + size]))
            try:
                resp = self._stub.Predict(request, timeout=self._timeout)
            except grpc.RpcError as err:
                raise from_rpc_error(err) from None
            outs.append(from_proto(resp.outputs, "outputs"))
            if resp.HasField("indices"):
                idx.append(from_proto(resp.indices, "indices"))
            remaining = resp.remaining_budget
            kind = output_kind_from_proto(resp.kind)
            self.records_queried += len(x[start:start + size])
        return PredictOutput(
            kind=kind,
            outputs=np.concatenate(outs) if outs else np.zeros((0,), np.float32),
            indices=np.concatenate(idx) if idx else None,
            remaining_budget=remaining,
            records=len(x),
        )

    @property
    def stub(self) -> target_pb2_grpc.TargetStub:
        """The raw stub, for the language-model calls (``lm.client.LanguageModelClient``)."""
        return self._stub

    @property
    def timeout(self) -> float:
        return self._timeout

    def get_weights(self) -> ArtifactRef:
        try:
            ref = self._stub.GetWeights(target_pb2.GetWeightsRequest(), timeout=self._timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        return ArtifactRef.from_proto(ref)
