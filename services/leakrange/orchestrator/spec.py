"""The exercise spec: what an operator writes in YAML (pydantic models, unknown keys rejected).

```yaml
name: adult-mia
seed: 0
target:
  train: {dataset: adult, members: 2500, split_seed: 0, model: mlp, recipe: {epochs: 20}}
threat_model:
  access: {white_box: false, output: probabilities, rounding: 4, query_budget: 0}
  knowledge: {architecture_known: true, recipe_known: true, data_fraction: 0.5}
adversaries:
  - family: mia
    attacks:
      - {name: loss}
      - {name: lira, params: {reference_models: 16}}
report: {title: Adult census MLP}
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from leakrange.common.threat_model import ThreatModel
from leakrange.orchestrator.target_kinds import TARGET_KINDS, TrainTarget, kind_names
from leakrange.orchestrator.variant_spec import TargetVariant

__all__ = ["FAMILIES", "AdversarySpec", "AttackSpec", "AuditSpec", "ExerciseSpec", "Family",
           "ReportSpec", "SubgroupSpec", "TargetSpec", "TargetVariant", "TrainTarget"]

Family = Literal["mia", "inversion", "federated", "synthetic"]
FAMILIES: tuple[str, ...] = ("mia", "inversion", "federated", "synthetic")

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _exactly_one_kind(target: BaseModel) -> BaseModel:
    given = [k.name for k in TARGET_KINDS if getattr(target, k.name) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {kind_names()}")
    return target


# One optional field per registered target kind (``target_kinds.TARGET_KINDS``), each typed by
# the kind's own spec model; exactly one must be given.
_KIND_FIELDS: dict[str, Any] = {
    k.name: (k.spec_type | None, Field(default=None, description=k.summary))
    for k in TARGET_KINDS
}
# A sweep: versions of the target's training recipe (or of a synthetic target's generator),
# each attacked by the same plan (``variant_spec.py``, run by ``sweep.py``).
_KIND_FIELDS["variants"] = (list[TargetVariant] | None, Field(
    default=None, description="Recipe (or synthetic generator) overrides: one target per "
    "entry, each attacked by the same adversaries (a defence or generator sweep)."))
_KIND_VALIDATORS: dict[str, Any] = {
    "_exactly_one": model_validator(mode="after")(_exactly_one_kind),
}
TargetSpec: type[BaseModel] = create_model(
    "TargetSpec",
    __config__=ConfigDict(extra="forbid", frozen=True),
    __doc__="Exactly one target kind: " + ", ".join(k.name for k in TARGET_KINDS) + ".",
    __validators__=_KIND_VALIDATORS,
    **_KIND_FIELDS,
)


class AttackSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class AdversarySpec(BaseModel):
    """One adversary: an attack family service, its own query budget, its attacks in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Family
    name: str | None = Field(default=None, pattern=_NAME_PATTERN)
    attacks: list[AttackSpec] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _unique_attacks(self) -> AdversarySpec:
        names = [a.name for a in self.attacks]
        if len(set(names)) != len(names):
            raise ValueError("attack names must be unique within an adversary")
        return self


class SubgroupSpec(BaseModel):
    """Disparate vulnerability: each membership attack's TPR at ``fpr`` measured within each
    value of a categorical column of the data set (for example ``sex`` or ``race`` on Adult)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str = Field(min_length=1, max_length=64)
    fpr: float = Field(default=0.01, gt=0.0, le=0.5)


class AuditSpec(BaseModel):
    """The balanced member / non-member audit set the adversaries score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records_per_side: int | None = Field(
        default=None, ge=1, description="Members (= non-members) to audit; default: all."
    )
    subgroups: SubgroupSpec | None = None


class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(default=None, max_length=200)
    html: bool = True


class ExerciseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME_PATTERN)
    seed: int = Field(default=0, ge=0, lt=2**63)
    target: TargetSpec  # type: ignore[valid-type]
    threat_model: ThreatModel = ThreatModel()
    adversaries: list[AdversarySpec] = Field(min_length=1, max_length=16)
    audit: AuditSpec = AuditSpec()
    report: ReportSpec = ReportSpec()

    @model_validator(mode="after")
    def _unique_adversaries(self) -> ExerciseSpec:
        names = self.adversary_names()
        if len(set(names)) != len(names):
            raise ValueError("adversary names must be unique")
        return self

    def adversary_names(self) -> list[str]:
        """Each adversary's principal: its ``name`` or ``<family>-<index>``."""
        return [a.name or f"{a.family}-{i}" for i, a in enumerate(self.adversaries)]

    def families(self) -> list[str]:
        """The attack families the exercise needs, each once, in first-use order."""
        return list(dict.fromkeys(a.family for a in self.adversaries))
