"""What an attack is: name, family, threat-model needs, an allow-listed parameter schema, a paper.

An attack class holds only constants; a run is ``attack.run(ctx, params)`` with everything it
needs in the ``RunContext``, so two runs in one process never share state.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from leakrange.attacks.context import RunContext
from leakrange.common.attack_info import MEMBERSHIP, AttackInfo
from leakrange.common.errors import FailedPrecondition, InvalidArgument
from leakrange.common.threat_model import OutputKind, ThreatModel

FAMILIES = ("mia", "inversion", "federated", "synthetic")
MAX_PARAMS_BYTES = 64 * 1024


class AttackParams(BaseModel):
    """Base of every attack's parameter schema: unknown parameters are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class AttackOutput:
    """What an attack returns. MIA: ``scores`` per audit record, higher = more likely a member."""

    scores: np.ndarray | None = None
    reconstructions: np.ndarray | None = None
    reconstructed_labels: np.ndarray | None = None
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    # Attack-side facts (queries spent, reference models, cache hits ...); no ground truth.
    facts: dict[str, float] = field(default_factory=dict)


class Attack(ABC):
    name: ClassVar[str]
    family: ClassVar[str]
    summary: ClassVar[str]
    paper: ClassVar[str]
    Params: ClassVar[type[AttackParams]]
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = ("logits", "probabilities")
    requires_white_box: ClassVar[bool] = False
    uses_reference_models: ClassVar[bool] = False
    # False for attacks on released data only (synthetic tables): no Target service is needed.
    needs_target: ClassVar[bool] = True
    # What ``run`` returns; the range scores it with the scorer registered for this kind.
    result_kind: ClassVar[str] = MEMBERSHIP

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        return cls.Params.model_json_schema()

    @classmethod
    def describe(cls) -> AttackInfo:
        """What ``ListAttacks`` publishes and the attack catalogue holds."""
        return AttackInfo(
            name=cls.name, family=cls.family, summary=cls.summary, paper=cls.paper,
            supported_outputs=cls.supported_outputs, requires_white_box=cls.requires_white_box,
            uses_reference_models=cls.uses_reference_models, result_kind=cls.result_kind,
            params_schema=cls.params_schema(),
        )

    @classmethod
    def parse_params(cls, params: dict[str, Any] | str | None) -> AttackParams:
        """Validate ``params`` before any work; errors name the parameter (``params.x``)."""
        if isinstance(params, str):
            if len(params) > MAX_PARAMS_BYTES:
                raise InvalidArgument("params", f"larger than {MAX_PARAMS_BYTES} bytes")
            try:
                params = json.loads(params) if params.strip() else {}
            except json.JSONDecodeError:
                raise InvalidArgument("params", "not a JSON object") from None
            except RecursionError:
                raise InvalidArgument("params", "nested too deeply") from None
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InvalidArgument("params", "must be an object")
        try:
            return cls.Params.model_validate(params)
        except ValidationError as err:
            first = err.errors()[0]
            path = ".".join(str(p) for p in first["loc"])
            kind = first["type"]
            problem = "unknown parameter" if kind == "extra_forbidden" else first["msg"]
            raise InvalidArgument(f"params.{path}" if path else "params", problem) from None

    @classmethod
    def check_threat_model(cls, threat: ThreatModel) -> None:
        """Refuse a threat model this attack cannot run under (FAILED_PRECONDITION)."""
        refusal = cls.describe().refusal(threat)
        if refusal is not None:
            raise FailedPrecondition(refusal)

    @abstractmethod
    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        """Run the attack; call ``ctx.check_cancelled()`` often and report progress."""
