"""A client of the Open Inference Protocol (KServe "V2"): what the Target service uses to reach a
model that already runs behind KServe, Triton or Seldon MLServer (``target.endpoint``).

Two bindings of the one protocol: REST (JSON over HTTP/1.1, ``urllib3``) and gRPC (the
``inference.GRPCInferenceService`` of ``protos/leakrange/oip``, raw little-endian tensor
contents). Both check what the server answers (one ``[batch, classes]`` float output for the
records sent, finite values) and turn every failure into ``EndpointError`` with a short reason
that never carries the server's message or any value: the server's text can echo inputs, and
the reason may reach an adversary.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import grpc
import numpy as np

from leakrange.common.errors import Unavailable

log = logging.getLogger(__name__)

Protocol = Literal["open-inference-rest", "open-inference-grpc"]
PROTOCOLS: tuple[str, ...] = ("open-inference-rest", "open-inference-grpc")

# Open Inference Protocol datatypes the proxy sends or accepts as class scores.
_FLOAT_TYPES: dict[str, np.dtype] = {
    "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}


MAX_RESPONSE_BYTES = 256 * 1024 * 1024


def safe_name(text: object) -> str:
    """A server-given name or datatype as it may appear in an error: identifier characters
    only, at most 64 of them (the server's strings are not trusted to be harmless)."""
    kept = re.sub(r"[^A-Za-z0-9_.:/-]", "?", str(text))
    return kept[:64] + ("..." if len(kept) > 64 else "")


class EndpointError(Unavailable):
    """The inference endpoint failed or answered something the proxy cannot use."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"target endpoint: {reason}")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelMetadata:
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


@dataclass(frozen=True)
class EndpointAddress:
    """Where the model answers and how to reach it (no secret here: ``token`` is resolved from
    the environment by the caller)."""

    protocol: Protocol
    url: str  # REST: http(s)://host:port[/prefix]; gRPC: grpc(s)://host:port
    model: str
    version: str = ""
    token: str | None = None
    ca_pem: bytes | None = None  # trust these CAs instead of the system's (https / grpcs)
    timeout_s: float = 30.0


class InferenceClient(ABC):
    """One connection to one model of an Open Inference Protocol server."""

    def __init__(self, address: EndpointAddress) -> None:
        self.address = address

    @abstractmethod
    def model_ready(self) -> bool:
        """Whether the server says the model is ready."""

    @abstractmethod
    def metadata(self) -> ModelMetadata:
        """The model's inputs and outputs as the server declares them."""

    @abstractmethod
    def _infer(self, x: np.ndarray, datatype: str, input_name: str,
               output_name: str | None) -> tuple[str, tuple[int, ...], np.ndarray]:
        """(datatype, shape, flat values) of the chosen output for batch ``x``."""

    def infer(self, x: np.ndarray, input_name: str, output_name: str | None,
              num_classes: int) -> np.ndarray:
        """Class scores ``[batch, num_classes]`` (float64) of the records ``x``."""
        datatype = "FP64" if x.dtype == np.float64 else "FP32"
        out_type, shape, flat = self._infer(np.ascontiguousarray(x), datatype, input_name,
                                            output_name)
        if out_type not in _FLOAT_TYPES:
            raise EndpointError(f"the model's output has datatype {safe_name(out_type)}, not a "
                                "float type")
        if shape != (len(x), num_classes):
            raise EndpointError(f"the model answered shape {list(shape)} for {len(x)} records "
                                f"of {num_classes} classes")
        try:
            values = np.asarray(flat, dtype=np.float64).reshape(shape)
        except ValueError:
            raise EndpointError("the model's output does not match its declared shape") from None
        if not np.isfinite(values).all():
            raise EndpointError("the model answered non-finite values")
        return values

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""


def _auth_header(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def _status_reason(what: str, status: int | str) -> str:
    if status in (401, "UNAUTHENTICATED"):
        return f"{what} {status}: the endpoint refused the range's credentials"
    if status in (403, "PERMISSION_DENIED"):
        return f"{what} {status}: the credentials may not use this model"
    if status in (404, "NOT_FOUND"):
        return f"{what} {status}: the endpoint has no such model (or version)"
    return f"{what} {status}"


class RestClient(InferenceClient):
    """The REST binding: ``GET /v2/models/{m}[/versions/{v}]``, ``POST .../infer``."""

    def __init__(self, address: EndpointAddress) -> None:
        import urllib3

        super().__init__(address)
        parts = urlsplit(address.url)
        secure = parts.scheme == "https"
        kwargs: dict[str, Any] = {"timeout": urllib3.Timeout(total=address.timeout_s),
                                  "retries": False, "maxsize": 4}
        if secure:
            kwargs["cert_reqs"] = "CERT_REQUIRED"
            if address.ca_pem is not None:
                kwargs["ca_cert_data"] = address.ca_pem.decode("ascii")
        self._pool = urllib3.PoolManager(**kwargs)
        path = f"/v2/models/{quote(address.model, safe='')}"
        if address.version:
            path += f"/versions/{quote(address.version, safe='')}"
        self._base = address.url.rstrip("/") + path
        self._headers = {"content-type": "application/json", **_auth_header(address.token)}

    def _request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        import urllib3

        try:
            response = self._pool.request(method, url, body=body, headers=self._headers,
                                          preload_content=False)
            try:
                data = response.read(MAX_RESPONSE_BYTES + 1)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as err:
            log.warning("inference endpoint unreachable", extra={"error": type(err).__name__})
            raise EndpointError(f"cannot reach the endpoint ({type(err).__name__})") from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise EndpointError(f"the endpoint answered more than {MAX_RESPONSE_BYTES} bytes")
        return response.status, data

    def model_ready(self) -> bool:
        status, _ = self._request("GET", f"{self._base}/ready")
        return status == 200

    def metadata(self) -> ModelMetadata:
        status, data = self._request("GET", self._base)
        if status != 200:
            raise EndpointError(_status_reason("model metadata: HTTP", status))
        doc = _json(data)
        try:
            return ModelMetadata(
                inputs=tuple(_tensor_info(t) for t in doc["inputs"]),
                outputs=tuple(_tensor_info(t) for t in doc.get("outputs", [])))
        except (KeyError, TypeError, ValueError):
            raise EndpointError("the model metadata is not Open Inference Protocol") from None

    def _infer(self, x: np.ndarray, datatype: str, input_name: str,
               output_name: str | None) -> tuple[str, tuple[int, ...], np.ndarray]:
        request: dict[str, Any] = {"inputs": [{
            "name": input_name, "shape": list(x.shape), "datatype": datatype,
            "data": x.reshape(-1).tolist(),
        }]}
        if output_name:
            request["outputs"] = [{"name": output_name}]
        status, data = self._request("POST", f"{self._base}/infer",
                                     json.dumps(request).encode())
        if status != 200:
            raise EndpointError(_status_reason("inference: HTTP", status))
        outputs = _json(data).get("outputs")
        try:
            chosen = _choose(outputs, output_name)
            return (str(chosen["datatype"]), tuple(int(d) for d in chosen["shape"]),
                    np.asarray(chosen["data"], dtype=np.float64).reshape(-1))
        except (KeyError, TypeError, ValueError):
            raise EndpointError("the inference response is not Open Inference Protocol") \
                from None

    def close(self) -> None:
        self._pool.clear()


def _json(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise EndpointError("the endpoint answered something other than JSON") from None
    if not isinstance(doc, dict):
        raise EndpointError("the endpoint answered something other than a JSON object")
    return doc


def _tensor_info(doc: Any) -> TensorInfo:
    return TensorInfo(str(doc["name"]), str(doc["datatype"]),
                      tuple(int(d) for d in doc["shape"]))


def _choose(outputs: Any, name: str | None) -> Any:
    if not isinstance(outputs, list) or not outputs:
        raise EndpointError("the inference response has no outputs")
    if name is None:
        if len(outputs) != 1:
            raise EndpointError("the model has several outputs: set target.endpoint.output")
        return outputs[0]
    for out in outputs:
        if (out.get("name") if isinstance(out, dict) else out.name) == name:
            return out
    raise EndpointError("the inference response lacks the output target.endpoint.output names")


class GrpcClient(InferenceClient):
    """The gRPC binding (``inference.GRPCInferenceService``), raw tensor contents."""

    def __init__(self, address: EndpointAddress,
                 max_message_bytes: int = MAX_RESPONSE_BYTES) -> None:
        from leakrange.oip import open_inference_pb2_grpc

        super().__init__(address)
        parts = urlsplit(address.url)
        target = parts.netloc
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        if parts.scheme == "grpcs":
            creds = grpc.ssl_channel_credentials(root_certificates=address.ca_pem)
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = open_inference_pb2_grpc.GRPCInferenceServiceStub(self._channel)
        self._metadata = tuple(_auth_header(address.token).items())

    def _call(self, what: str, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.address.timeout_s, metadata=self._metadata)
        except grpc.RpcError as err:
            code = err.code().name if hasattr(err, "code") else "UNKNOWN"
            log.warning("inference endpoint call failed", extra={"call": what, "code": code})
            raise EndpointError(_status_reason(f"{what}: gRPC", code)) from None

    def model_ready(self) -> bool:
        from leakrange.oip import open_inference_pb2 as pb

        answer = self._call("model ready", self._stub.ModelReady, pb.ModelReadyRequest(
            name=self.address.model, version=self.address.version))
        return bool(answer.ready)

    def metadata(self) -> ModelMetadata:
        from leakrange.oip import open_inference_pb2 as pb

        answer = self._call("model metadata", self._stub.ModelMetadata, pb.ModelMetadataRequest(
            name=self.address.model, version=self.address.version))

        def info(items: Any) -> tuple[TensorInfo, ...]:
            return tuple(TensorInfo(t.name, t.datatype, tuple(int(d) for d in t.shape))
                         for t in items)

        return ModelMetadata(info(answer.inputs), info(answer.outputs))

    def _infer(self, x: np.ndarray, datatype: str, input_name: str,
               output_name: str | None) -> tuple[str, tuple[int, ...], np.ndarray]:
        from leakrange.oip import open_inference_pb2 as pb

        request = pb.ModelInferRequest(model_name=self.address.model,
                                       model_version=self.address.version)
        request.inputs.add(name=input_name, datatype=datatype, shape=list(x.shape))
        request.raw_input_contents.append(x.astype(x.dtype.newbyteorder("<"),
                                                   copy=False).tobytes())
        if output_name:
            request.outputs.add(name=output_name)
        answer = self._call("inference", self._stub.ModelInfer, request)
        outputs = list(answer.outputs)
        chosen = _choose(outputs, output_name)
        shape = tuple(int(d) for d in chosen.shape)
        if answer.raw_output_contents:
            index = outputs.index(chosen)
            if index >= len(answer.raw_output_contents) or chosen.datatype not in _FLOAT_TYPES:
                raise EndpointError("the inference response's raw contents do not match")
            raw = answer.raw_output_contents[index]
            dtype = _FLOAT_TYPES[chosen.datatype]
            if len(raw) % dtype.itemsize:
                raise EndpointError("the inference response's raw contents do not match")
            return chosen.datatype, shape, np.frombuffer(raw, dtype=dtype)
        contents = chosen.contents
        values = contents.fp32_contents if chosen.datatype == "FP32" else contents.fp64_contents
        return chosen.datatype, shape, np.asarray(values, dtype=np.float64)

    def close(self) -> None:
        self._channel.close()


def connect(address: EndpointAddress) -> InferenceClient:
    if address.protocol == "open-inference-grpc":
        return GrpcClient(address)
    return RestClient(address)
