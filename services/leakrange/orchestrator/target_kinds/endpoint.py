"""``target: {endpoint: {protocol, url, model, credentials_secret, data, members, ...}}``: a model
that already runs behind an Open Inference Protocol server (KServe, Triton, Seldon MLServer).

The range's Target service becomes an enforcing proxy in front of it (``target/endpoint_host``):
adversaries reach only the range's Target API, with its output shaping, rounding and per
adversary budget. The data and the membership are the user's, imported through the one import
path exactly as for ``target.imported``; reference models use the zoo proxy
``threat_model.knowledge.proxy_model`` (the server's architecture is unknown to the range).

``credentials_secret`` names a secret, never holds one: the bearer token is read from the
environment variable ``LEAKRANGE_SECRET_<NAME>`` of the range's processes (on Kubernetes, the
Secret of that name mounted into the target pod). ``ca_file`` is a PEM bundle to trust for
``https://`` / ``grpcs://`` instead of the system's CAs; TLS is always verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.attack_info import MEMBERSHIP
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import (
    AdversaryView,
    PrepareContext,
    Problems,
    TargetKind,
)
from leakrange.orchestrator.target_kinds.imported import (
    DataFile,
    ImportedKind,
    ImportedModelTarget,
    data_and_members_problems,
)

if TYPE_CHECKING:
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo

_SCHEMES = {"open-inference-rest": ("http", "https"), "open-inference-grpc": ("grpc", "grpcs")}
_NAME = Field(min_length=1, max_length=256)


class EndpointTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: Literal["open-inference-rest", "open-inference-grpc"]
    url: str = Field(min_length=1, max_length=1024, description=(
        "REST: http(s)://host:port[/prefix]; gRPC: grpc(s)://host:port"))
    model: str = _NAME
    version: str = Field(default="", max_length=256)
    input: str | None = Field(default=None, min_length=1, max_length=256, description=(
        "Input tensor name (default: the model's only input)."))
    output: str | None = Field(default=None, min_length=1, max_length=256, description=(
        "Output tensor with the class scores (default: the model's only output)."))
    outputs: Literal["logits", "probabilities"] = Field(
        default="logits", description="What the server's output holds.")
    credentials_secret: str | None = Field(
        default=None, min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="Name of the secret with the bearer token (a Kubernetes Secret name; env "
                    "LEAKRANGE_SECRET_<NAME> on the local range).")
    ca_file: str | None = Field(default=None, min_length=1, max_length=1024)
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_batch: int = Field(default=1024, ge=1, le=65536,
                           description="Records per call forwarded to the server.")
    data: str | DataFile
    members: str | None = Field(default=None, min_length=1, max_length=1024)
    adversary_share: float = Field(default=0.5, ge=0.0, lt=1.0)
    split_seed: int = Field(default=0, ge=0, lt=2**63)


@dataclass(frozen=True)
class EndpointModelTarget(ImportedModelTarget):
    """An endpoint target: the imported target's split and views, described as a proxy."""

    protocol: str = ""
    endpoint_model: str = ""
    credentials_secret: str | None = None

    def deploy_spec(self, access: Access) -> TargetDeploySpec:
        return TargetDeploySpec(self.model_ref.uri, access,
                                credentials_secret=self.credentials_secret)

    def report_info(self, view: AdversaryView) -> TargetInfo:
        info = super().report_info(view)
        return info.model_copy(update={
            "model_kind": f"model '{self.endpoint_model}' behind an inference server "
                          f"({self.protocol}), proxied by the range"})


class EndpointKind(TargetKind):
    name: ClassVar[str] = "endpoint"
    summary: ClassVar[str] = ("A model behind an Open Inference Protocol server (KServe, "
                              "Triton, MLServer), with the range as enforcing proxy.")
    spec_type: ClassVar[Any] = EndpointTarget
    result_kinds: ClassVar[frozenset[str]] = frozenset({MEMBERSHIP})

    @classmethod
    def localise(cls, doc: Any, base: Path) -> Any:
        if not isinstance(doc, dict):
            return doc
        out = ImportedKind.localise(doc, base)
        value = out.get("ca_file")
        if isinstance(value, str) and value and not Path(value).is_absolute():
            out["ca_file"] = str((base / value).resolve())
        return out

    @classmethod
    def check(cls, part: Any, exercise: ExerciseSpec) -> Problems:
        from leakrange.models.zoo import ZOO

        target: EndpointTarget = part
        problems: Problems = []
        scheme = urlsplit(target.url).scheme
        if scheme not in _SCHEMES[target.protocol] or not urlsplit(target.url).netloc:
            problems.append(("target.endpoint.url", f"{target.protocol} needs a "
                             f"{' or '.join(s + '://' for s in _SCHEMES[target.protocol])}"
                             "host:port URL"))
        if target.ca_file is not None:
            if scheme not in ("https", "grpcs"):
                problems.append(("target.endpoint.ca_file", "only with https:// or grpcs://"))
            elif not Path(target.ca_file).is_file():
                problems.append(("target.endpoint.ca_file", "file not found"))
        if exercise.threat_model.access.white_box:
            problems.append(("threat_model.access.white_box",
                             "a model behind an inference server is black-box only"))
        proxy = exercise.threat_model.knowledge.proxy_model or ""
        if proxy not in ZOO and not proxy.startswith("{"):
            problems.append(("threat_model.knowledge.proxy_model",
                             "an endpoint target needs a zoo proxy for reference models; "
                             f"zoo: {', '.join(sorted(ZOO))}"))
        return problems + data_and_members_problems(target.data, target.members,
                                                    "target.endpoint")

    @classmethod
    def prepare(cls, part: Any, ctx: PrepareContext) -> EndpointModelTarget:
        from leakrange.orchestrator.target_kinds.endpoint_prepare import prepare_endpoint

        return prepare_endpoint(part, ctx)


__all__ = ["EndpointKind", "EndpointModelTarget", "EndpointTarget"]
