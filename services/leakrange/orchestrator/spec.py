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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leakrange.common.threat_model import ThreatModel
from leakrange.models.recipe import TrainRecipe

Family = Literal["mia", "inversion", "federated", "synthetic"]
FAMILIES: tuple[str, ...] = ("mia", "inversion", "federated", "synthetic")

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class TrainTarget(BaseModel):
    """Train the target inside the range: the range keeps the split (ground truth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(min_length=1, max_length=64)
    members: int = Field(ge=1, le=10_000_000)
    nonmembers: int | None = Field(default=None, ge=1, le=10_000_000)
    population: int | None = Field(
        default=None, ge=2, description="Sample this many records of the data set first."
    )
    split_seed: int = Field(default=0, ge=0, lt=2**63)
    model: Any = Field(default="mlp", description="Zoo name or a model spec (mapping).")
    recipe: TrainRecipe = TrainRecipe()

    @field_validator("model")
    @classmethod
    def _name_or_mapping(cls, value: Any) -> str | dict[str, Any]:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, dict):
            return value
        raise ValueError("must be a zoo name or a mapping")


class TargetSpec(BaseModel):
    """Exactly one of ``model`` (an artifact already in the store) or ``train``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="sha256:<hex> or a published name; its split must be in the store.",
    )
    train: TrainTarget | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetSpec:
        if (self.model is None) == (self.train is None):
            raise ValueError("give exactly one of model or train")
        return self


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


class AuditSpec(BaseModel):
    """The balanced member / non-member audit set the adversaries score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records_per_side: int | None = Field(
        default=None, ge=1, description="Members (= non-members) to audit; default: all."
    )


class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(default=None, max_length=200)
    html: bool = True


class ExerciseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME_PATTERN)
    seed: int = Field(default=0, ge=0, lt=2**63)
    target: TargetSpec
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
