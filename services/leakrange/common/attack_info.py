"""What an attack declares about itself, as the Attack services publish it in ``ListAttacks``.

The same description feeds the attack catalogue (``leakrange/catalogue/attacks.json``) that the
orchestrator and the CLI validate exercise specs against, so neither imports attack code. The
threat-model check lives here so that the attack service and the orchestrator refuse the same
pairings with the same words.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.threat_model import (
    OutputKind,
    ThreatModel,
    output_kind_from_proto,
    output_kind_to_proto,
)
from leakrange.v1 import attack_pb2

FAMILY_CODES: dict[str, int] = {
    "mia": attack_pb2.FAMILY_MIA,
    "inversion": attack_pb2.FAMILY_INVERSION,
    "federated": attack_pb2.FAMILY_FEDERATED,
    "synthetic": attack_pb2.FAMILY_SYNTHETIC,
}
_CODE_FAMILIES = {code: name for name, code in FAMILY_CODES.items()}

# The result kind of membership-inference attacks: one score per audit record.
MEMBERSHIP = "membership"
# Model inversion: reconstructed inputs, one per attacked class (``reconstructions`` and
# ``reconstructed_labels``).
RECONSTRUCTION = "reconstruction"
# Attribute inference: one guess of a hidden attribute per audit record (``outputs["guesses"]``).
ATTRIBUTE = "attribute"
# Attacks on a released synthetic table judged as in Anonymeter (singling-out predicates, link
# guesses, secret-attribute guesses): success on original records against control records.
SYNTHETIC_RISK = "synthetic_risk"
# Canary exposure: one score per canary candidate (higher = more likely); the range ranks the
# true canaries among the random fills (exposure in bits, Carlini et al. 2019).
EXPOSURE = "exposure"
# Training-data extraction: generated token sequences (``outputs["generations"]``, -1 padded)
# and canary-secret guesses (``outputs["canary_guesses"]``); the range checks them verbatim
# against the training set.
EXTRACTION = "extraction"
# Gradient / update inversion in federated learning: reconstructed records of one client's
# batch (``reconstructions``, ``reconstructed_labels``) with the update each came from
# (``outputs["round"]``, ``outputs["client"]``).
RECORD_RECONSTRUCTION = "record_reconstruction"


class AttackInfo(BaseModel):
    """One attack's public description: enough to validate a spec without its code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: str
    summary: str = ""
    paper: str = ""
    supported_outputs: tuple[OutputKind, ...] = ()
    requires_white_box: bool = False
    uses_reference_models: bool = False
    result_kind: str = MEMBERSHIP
    params_schema: dict[str, Any] = Field(default_factory=dict)

    def refusal(self, threat: ThreatModel) -> str | None:
        """Why this attack cannot run under ``threat`` (a public message), or ``None``."""
        access = threat.access
        if self.requires_white_box and not access.white_box:
            return f"threat_model.access: attack '{self.name}' needs white-box access"
        if not access.white_box and access.output not in self.supported_outputs:
            allowed = ", ".join(self.supported_outputs)
            return (f"threat_model.access.output: attack '{self.name}' cannot run on "
                    f"'{access.output}' outputs (needs one of: {allowed})")
        return None

    def to_proto(self) -> attack_pb2.AttackInfo:
        return attack_pb2.AttackInfo(
            name=self.name, family=FAMILY_CODES[self.family], summary=self.summary,
            paper=self.paper,
            supported_outputs=[output_kind_to_proto(k) for k in self.supported_outputs],
            requires_white_box=self.requires_white_box,
            uses_reference_models=self.uses_reference_models,
            params_schema_json=json.dumps(self.params_schema),
            result_kind=self.result_kind,
        )

    @classmethod
    def from_proto(cls, msg: attack_pb2.AttackInfo) -> AttackInfo:
        return cls(
            name=msg.name, family=_CODE_FAMILIES.get(msg.family, "mia"), summary=msg.summary,
            paper=msg.paper,
            supported_outputs=tuple(output_kind_from_proto(k) for k in msg.supported_outputs),
            requires_white_box=msg.requires_white_box,
            uses_reference_models=msg.uses_reference_models,
            result_kind=msg.result_kind or MEMBERSHIP,
            params_schema=json.loads(msg.params_schema_json or "{}"),
        )
