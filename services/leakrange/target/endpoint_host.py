"""Serving a model that runs behind an Open Inference Protocol server: the Target service as an
enforcing proxy (``target.endpoint``).

The adversary reaches only the range's Target API. Every Predict is validated and charged to
the adversary's budget by the servicer *before* this host forwards anything, and the server's
answer is shaped by the access policy (label only, top-k, rounding) before it leaves: the
endpoint never sees more records than the policy allows and the adversary never sees more of
its answer than the threat model grants. A failed forward is refunded by the servicer.

The endpoint's description is an artifact in the store (``EndpointRecord``, JSON, no secret).
The bearer token comes from the environment variable ``secret_env_name(credentials_secret)``
of the process that talks to the endpoint; it is never stored, logged or put on a command line.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leakrange.artifacts import MEDIA_ENDPOINT, ArtifactRef, ArtifactStore
from leakrange.common.errors import FailedPrecondition, IntegrityError
from leakrange.target.model_host import BatchChecks
from leakrange.target.oip_client import (
    EndpointAddress,
    EndpointError,
    InferenceClient,
    ModelMetadata,
    Protocol,
    connect,
    safe_name,
)

SECRET_ENV_PREFIX = "LEAKRANGE_SECRET_"  # noqa: S105 (a variable name prefix, no secret)
_DTYPES: dict[str, np.dtype] = {"FP32": np.dtype(np.float32), "FP64": np.dtype(np.float64)}


def secret_env_name(secret: str) -> str:
    """``LEAKRANGE_SECRET_<NAME>``: the variable holding the bearer token of ``secret``."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", secret.upper())


def resolve_token(secret: str | None) -> str | None:
    """The bearer token of ``secret``: the file named by ``<VAR>_FILE`` (a mounted Secret key,
    as the control-plane chart provides it) or else the variable ``<VAR>`` itself."""
    if secret is None:
        return None
    name = secret_env_name(secret)
    path = os.environ.get(name + "_FILE")
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise FailedPrecondition(f"target.endpoint.credentials_secret: {name}_FILE names a "
                                     "file the range cannot read") from None
        if not token:
            raise FailedPrecondition(f"target.endpoint.credentials_secret: the file named by "
                                     f"{name}_FILE is empty")
        return token
    value = os.environ.get(name)
    if not value:
        raise FailedPrecondition(
            f"target.endpoint.credentials_secret: secret '{secret}' was not given to the range "
            f"(on Kubernetes, list it in the control-plane value endpoints.credentialsSecrets; "
            f"elsewhere set {name} or {name}_FILE)")
    return value


def credentials_key(secret: str) -> str:
    """Key of the token inside the Kubernetes Secret ``secret`` (``<VAR>_KEY``, set by the
    control-plane chart from endpoints.credentialsSecrets; default ``token``)."""
    return os.environ.get(secret_env_name(secret) + "_KEY") or "token"


class EndpointRecord(BaseModel):
    """What the range stores about an endpoint target (the Target service's ``--model``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: Protocol
    url: str
    model: str
    version: str = ""
    input_name: str
    output_name: str | None = None
    outputs: Literal["logits", "probabilities"] = "logits"
    input_datatype: Literal["FP32", "FP64"] = "FP32"
    credentials_secret: str | None = None
    ca_pem: str | None = None
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_batch: int = Field(default=1024, ge=1)  # records per forwarded inference call
    dataset: str
    class_names: list[str]
    input_shape: list[int]
    split_sha: str = ""  # which exercise split the ground truth under this record is

    def address(self) -> EndpointAddress:
        return EndpointAddress(
            protocol=self.protocol, url=self.url, model=self.model, version=self.version,
            token=resolve_token(self.credentials_secret),
            ca_pem=self.ca_pem.encode("ascii") if self.ca_pem else None,
            timeout_s=self.timeout_s)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def store_record(store: ArtifactStore, record: EndpointRecord) -> ArtifactRef:
    return store.put_bytes(record.to_bytes(), MEDIA_ENDPOINT)


def load_record(store: ArtifactStore, ref: ArtifactRef) -> EndpointRecord:
    try:
        return EndpointRecord.model_validate_json(store.get_bytes(ref))
    except ValidationError:
        raise IntegrityError("the endpoint record of the target is corrupted") from None


def check_metadata(meta: ModelMetadata, record: EndpointRecord) -> None:
    """The server's declared input and output against the data set, naming both sides."""
    inputs = [t for t in meta.inputs if t.name == record.input_name]
    if not inputs:
        names = ", ".join(safe_name(t.name) for t in meta.inputs[:8]) or "none"
        raise EndpointError(f"the model has no input '{safe_name(record.input_name)}' "
                            f"(it has: {names})")
    declared = inputs[0].shape
    want = tuple(record.input_shape)
    if len(declared) != len(want) + 1 or any(
            d not in (-1, w) for d, w in zip(declared[1:], want, strict=True)):
        raise EndpointError(f"the model's input {safe_name(record.input_name)} has shape "
                            f"{list(declared)[:8]}, "
                            f"data set {record.dataset} has records of shape {list(want)}")
    if inputs[0].datatype not in _DTYPES:
        raise EndpointError(f"the model's input has datatype {safe_name(inputs[0].datatype)}; "
                            "the proxy "
                            "sends FP32 or FP64")
    outputs = [t for t in meta.outputs if record.output_name in (None, t.name)]
    if record.output_name is not None and meta.outputs and not outputs:
        raise EndpointError(f"the model has no output '{safe_name(record.output_name)}'")
    if len(outputs) == 1 and len(outputs[0].shape) == 2 and \
            outputs[0].shape[1] not in (-1, len(record.class_names)):
        raise EndpointError(f"the model has {outputs[0].shape[1]} output classes, data set "
                            f"{record.dataset} has {len(record.class_names)}")


class EndpointHost(BatchChecks):
    """Forwards validated, already-charged batches to the endpoint, in calls of at most
    ``record.max_batch`` records; returns logits (log-probabilities for a server that answers
    probabilities: the policy's softmax of them gives the server's probabilities back)."""

    def __init__(self, record: EndpointRecord, ref: ArtifactRef, client: InferenceClient,
                 max_batch: int = 4096) -> None:
        self.record = record
        self.ref = ref
        self.client = client
        self.max_batch = max_batch
        self.input_shape = tuple(record.input_shape)
        self.model_kind = f"endpoint {record.protocol}"
        self.num_classes = len(record.class_names)
        self.metadata = {"dataset": record.dataset,
                         "class_names": "\x1f".join(record.class_names)}
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: ArtifactStore, ref: ArtifactRef, max_batch: int) -> EndpointHost:
        record = load_record(store, ref)
        client = connect(record.address())
        check_metadata(client.metadata(), record)
        if not client.model_ready():
            raise EndpointError("the model is not ready")
        return cls(record, ref, client, max_batch)

    @property
    def input_dtype(self) -> np.dtype:
        return _DTYPES[self.record.input_datatype]

    def logits(self, x: np.ndarray, chunk: int = 512) -> np.ndarray:
        record = self.record
        step = record.max_batch
        parts = []
        with self._lock:
            for start in range(0, len(x), step):
                parts.append(self.client.infer(x[start:start + step], record.input_name,
                                               record.output_name, self.num_classes))
        scores = np.concatenate(parts)
        if record.outputs == "probabilities":
            if (scores < 0).any() or (scores > 1 + 1e-6).any():
                raise EndpointError("the model's probabilities are outside [0, 1]")
            return np.log(np.clip(scores, 1e-30, None))
        return scores
