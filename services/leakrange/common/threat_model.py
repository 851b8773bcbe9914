"""The threat model as a domain object (pydantic), with proto conversion and plain-language text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leakrange.common.query_budget import UNLIMITED_BUDGET, budget_is_limited
from leakrange.v1 import common_pb2

LABELS_KNOWN_TEXT = "The attacker is given the true labels of the records behind each update."
OutputKind = Literal["logits", "probabilities", "topk", "label"]

_KIND_TO_PROTO: dict[str, int] = {
    "logits": common_pb2.OUTPUT_KIND_LOGITS,
    "probabilities": common_pb2.OUTPUT_KIND_PROBABILITIES,
    "topk": common_pb2.OUTPUT_KIND_TOP_K,
    "label": common_pb2.OUTPUT_KIND_LABEL,
}
_PROTO_TO_KIND = {v: k for k, v in _KIND_TO_PROTO.items()}


def output_kind_to_proto(kind: str) -> int:
    return _KIND_TO_PROTO[kind]


def output_kind_from_proto(code: int) -> OutputKind:
    return _PROTO_TO_KIND.get(code, "probabilities")  # type: ignore[return-value]


class Access(BaseModel):
    """What the adversary may touch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    white_box: bool = False
    output: OutputKind = "probabilities"
    top_k: int = Field(default=1, ge=1, le=100_000)
    rounding: int | None = Field(default=None, ge=0, le=12)
    query_budget: int = Field(default=UNLIMITED_BUDGET, ge=0, le=10**15,
                              description="records; 0 = unlimited")

    def to_proto(self) -> common_pb2.Access:
        msg = common_pb2.Access(
            white_box=self.white_box, output=output_kind_to_proto(self.output),
            top_k=self.top_k, query_budget=self.query_budget,
        )
        if self.rounding is not None:
            msg.rounding = self.rounding
        return msg

    @classmethod
    def from_proto(cls, msg: common_pb2.Access) -> Access:
        return cls(
            white_box=msg.white_box,
            output=output_kind_from_proto(msg.output),
            top_k=max(1, msg.top_k),
            rounding=msg.rounding if msg.HasField("rounding") else None,
            query_budget=msg.query_budget,
        )


class Knowledge(BaseModel):
    """What the adversary knows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture_known: bool = True
    proxy_model: str | None = None
    recipe_known: bool = True
    data_fraction: float = Field(default=1.0, gt=0.0, le=1.0)
    data_overlaps_members: bool = False
    # Federated server adversaries: the true labels of every client batch they observe come
    # with the observation (label recovery is skipped). Refused for every other adversary.
    labels_known: bool = Field(default=False, description="federated server adversaries: "
                               "the clients' labels are granted with their updates")

    @model_validator(mode="after")
    def _proxy_needed(self) -> Knowledge:
        if not self.architecture_known and not self.proxy_model:
            raise ValueError("proxy_model is required when architecture_known is false")
        return self


class ThreatModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    access: Access = Access()
    knowledge: Knowledge = Knowledge()

    def to_proto(self) -> common_pb2.ThreatModel:
        k = self.knowledge
        return common_pb2.ThreatModel(
            access=self.access.to_proto(),
            knowledge=common_pb2.Knowledge(
                architecture_known=k.architecture_known, proxy_model=k.proxy_model or "",
                recipe_known=k.recipe_known, data_fraction=k.data_fraction,
                data_overlaps_members=k.data_overlaps_members, labels_known=k.labels_known,
            ),
        )

    @classmethod
    def from_proto(cls, msg: common_pb2.ThreatModel) -> ThreatModel:
        k = msg.knowledge
        return cls(
            access=Access.from_proto(msg.access),
            knowledge=Knowledge(
                architecture_known=k.architecture_known if msg.HasField("knowledge") else True,
                proxy_model=k.proxy_model or None,
                recipe_known=k.recipe_known if msg.HasField("knowledge") else True,
                data_fraction=k.data_fraction if k.data_fraction > 0 else 1.0,
                data_overlaps_members=k.data_overlaps_members,
                labels_known=k.labels_known,
            ),
        )

    def describe(self) -> str:
        """The threat model in words, for reports."""
        a, k = self.access, self.knowledge
        outputs = {
            "logits": "raw scores (logits) for every class",
            "probabilities": "the probability of every class",
            "topk": f"the {a.top_k} most likely classes with their probabilities",
            "label": "only the predicted label",
        }[a.output]
        parts = []
        if a.white_box:
            parts.append("The attacker has the model's weights (white-box) and can query it")
        else:
            parts.append(
                f"The attacker can only query the model through its API and sees {outputs}"
            )
        if a.rounding is not None:
            parts[-1] += f", rounded to {a.rounding} decimals"
        parts[-1] += "."
        if budget_is_limited(a.query_budget):
            parts.append(f"Queries are limited to {a.query_budget:,} records.")
        parts.append(
            "The attacker knows the model's architecture."
            if k.architecture_known
            else f"The attacker does not know the architecture and uses a stand-in "
            f"({k.proxy_model})."
        )
        parts.append(
            "The attacker knows how the model was trained."
            if k.recipe_known
            else "The attacker only approximates the training recipe."
        )
        parts.append(
            f"The attacker holds {k.data_fraction:.0%} of the available data from the same "
            f"population"
            + (", overlapping the training records." if k.data_overlaps_members
               else ", none of it from the training records.")
        )
        if k.labels_known:
            parts.append(LABELS_KNOWN_TEXT)
        return " ".join(parts)
