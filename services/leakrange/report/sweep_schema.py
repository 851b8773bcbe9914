"""The report's sweep part (``Report.sweep``): one entry per target variant of a defence sweep,
the frontier of risk against utility, and the recommendation computed from it; and a synthetic
sweep's generator comparison (``Report.releases``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leakrange.metrics.estimate import Estimate


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SweepVariant(_Frozen):
    """One variant: its recipe settings, its utility and its strongest membership attack."""

    name: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    defences: dict[str, Any] = Field(default_factory=dict)
    test_accuracy: Estimate | None = Field(
        default=None, description="accuracy on the non-members, with a 95 % Wilson interval")
    train_accuracy: float | None = None
    accuracy_kept: float | None = Field(
        default=None, description="test accuracy relative to the sweep's baseline variant")
    attacks: list[str] = Field(default_factory=list, description="report labels of its attacks")
    strongest_attack: str | None = None
    tpr_at_01: Estimate | None = Field(default=None, description="strongest attack, 0.1 % FPR")
    tpr_at_1: Estimate | None = Field(default=None, description="strongest attack, 1 % FPR")
    auc: Estimate | None = None
    risk_level: str = "unknown"
    at_chance: bool | None = Field(
        default=None, description="every interval of the strongest attack reaches chance level")
    claim_violated: bool = Field(
        default=False, description="a DP audit of one of its attacks exceeds the claimed epsilon")
    subgroups: dict[str, Any] | None = Field(
        default=None, description="the strongest attack's disparate-vulnerability findings")


class SweepSection(_Frozen):
    baseline: str = Field(description="the variant accuracy is compared with")
    confidence: float = 0.95
    variants: list[SweepVariant]
    recommendation: str


# A synthetic sweep (``target.variants`` varying the generator): ``report/release_sweep.py``.
class ReleaseCell(_Frozen):
    """One attack on one generator's release."""

    attack: str
    measure: str = Field(description="'residual risk' or 'AUC'")
    estimate: Estimate | None = None
    risk_level: str = "unknown"
    at_chance: bool | None = None
    error: str | None = None


class ReleaseVariant(_Frozen):
    name: str
    generator: dict[str, Any]
    cells: list[ReleaseCell]
    tstr_accuracy: float | None = Field(default=None, description="train on synthetic, "
                                        "test on real (the control records)")
    trtr_accuracy: float | None = None
    mean_similarity: float | None = None
    strongest_attack: str | None = None
    risk_level: str = "unknown"
    at_chance: bool | None = None


class ReleaseSection(_Frozen):
    confidence: float = 0.95
    attacks: list[str] = Field(description="the attack columns, in the plan's order")
    variants: list[ReleaseVariant]
    summary: str
