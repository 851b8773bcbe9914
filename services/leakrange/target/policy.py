"""Access policies: how the target's raw logits are shaped before they leave the service."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakrange.common.errors import InvalidArgument
from leakrange.common.query_budget import UNLIMITED_BUDGET
from leakrange.common.threat_model import Access, OutputKind


@dataclass(frozen=True)
class AccessPolicy:
    output: OutputKind = "probabilities"
    top_k: int = 1
    rounding: int | None = None
    query_budget: int = UNLIMITED_BUDGET  # records per principal
    white_box: bool = False

    @classmethod
    def parse(
        cls, output: str, rounding: int | None = None, query_budget: int = UNLIMITED_BUDGET,
        white_box: bool = False,
    ) -> AccessPolicy:
        """Parse the CLI form ``logits|probabilities|topk:K|label``."""
        kind, _, k = output.partition(":")
        if kind not in ("logits", "probabilities", "topk", "label"):
            raise InvalidArgument("output", "must be logits, probabilities, topk:K or label")
        top_k = 1
        if kind == "topk":
            if not k.isdigit() or int(k) < 1:
                raise InvalidArgument("output", "topk needs a positive K, e.g. topk:3")
            top_k = int(k)
        elif k:
            raise InvalidArgument("output", f"{kind} takes no parameter")
        if rounding is not None and not 0 <= rounding <= 12:
            raise InvalidArgument("rounding", "must be between 0 and 12")
        if query_budget < 0:
            raise InvalidArgument("query_budget", "must be >= 0")
        return cls(kind, top_k, rounding, query_budget, white_box)  # type: ignore[arg-type]

    @classmethod
    def from_access(cls, access: Access) -> AccessPolicy:
        return cls(access.output, access.top_k, access.rounding, access.query_budget,
                   access.white_box)

    def to_access(self) -> Access:
        return Access(
            white_box=self.white_box, output=self.output, top_k=self.top_k,
            rounding=self.rounding, query_budget=self.query_budget,
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def shape_outputs(
    logits: np.ndarray, policy: AccessPolicy
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the policy to ``logits`` [batch, classes]: returns (outputs, indices or None)."""
    if policy.output == "label":
        return logits.argmax(axis=1).astype(np.int64), None
    if policy.output == "logits":
        values = logits.astype(np.float32)
        indices = None
    else:
        probs = _softmax(logits.astype(np.float64))
        if policy.output == "topk":
            k = min(policy.top_k, probs.shape[1])
            order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
            values = np.take_along_axis(probs, order, axis=1).astype(np.float32)
            indices = order.astype(np.int64)
        else:
            values, indices = probs.astype(np.float32), None
    if policy.rounding is not None:
        values = np.round(values, policy.rounding).astype(np.float32)
    return values, indices
