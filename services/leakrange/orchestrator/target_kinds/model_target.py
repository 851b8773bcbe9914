"""A trained model with a membership split: what the ``train`` and ``model`` kinds prepare.

The range serves the model through a Target service under the threat model's access policy.
Ground truth is the split; the adversaries get the shuffled, unlabelled audit set drawn from it
and the share of the adversary pool the threat model grants (``ground_truth.py`` draws both,
``adversary_view.py`` packs them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from leakrange.artifacts import ArtifactRef
from leakrange.common.attack_info import ATTRIBUTE, MEMBERSHIP, RECONSTRUCTION
from leakrange.common.threat_model import Access
from leakrange.datasets import Split
from leakrange.models import ModelSpec, TrainRecipe
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import AdversaryView, PreparedTarget

if TYPE_CHECKING:
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo


@dataclass(frozen=True)
class ModelTarget(PreparedTarget):
    model_ref: ArtifactRef
    dataset: str
    split: Split
    spec: ModelSpec
    recipe: TrainRecipe
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    # A categorical column the adversaries must infer: blanked in the audit records they get.
    secret_attribute: str | None = None
    # What the training delivered (``target.training.defence_record``): epochs run, DP-SGD.
    defences: dict[str, Any] = field(default_factory=dict)

    def dp_claim(self) -> dict[str, float] | None:
        """The (epsilon, delta) the recipe claims and the accountant's epsilon, under DP-SGD."""
        dp = self.recipe.dp_sgd
        if dp is None:
            return None
        spent = self.defences.get("dp_sgd", {}).get("epsilon")
        return {"epsilon": dp.epsilon, "delta": dp.delta,
                "accountant_epsilon": float(spent) if spent is not None else dp.epsilon}

    def deploy_spec(self, access: Access) -> TargetDeploySpec:
        return TargetDeploySpec(self.model_ref.uri, access)

    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        from leakrange.orchestrator.adversary_view import adversary_data
        from leakrange.orchestrator.ground_truth import adversary_rows, build_audit
        from leakrange.orchestrator.inversion_truth import (
            ReconstructionTruth,
            attribute_truth,
            hidden_columns,
        )
        from leakrange.orchestrator.subgroups import Subgroups, subgroup_codes

        data = datasets.get(self.dataset)
        audit = build_audit(self.split, exercise.audit.records_per_side, exercise.seed)
        chosen = exercise.audit.subgroups
        groups = None
        if chosen is not None:
            names, codes = subgroup_codes(data, audit.rows, chosen.attribute)
            groups = Subgroups(chosen.attribute, names, codes, chosen.fpr)
        audit = replace(audit, dp_claim=self.dp_claim(), subgroups=groups)
        population = adversary_rows(self.split, exercise.threat_model.knowledge, exercise.seed)
        truth: dict[str, object] = {
            MEMBERSHIP: audit,
            RECONSTRUCTION: ReconstructionTruth.of(data, self.split, exercise.seed),
        }
        hidden = None
        if self.secret_attribute is not None:
            hidden = hidden_columns(data, self.secret_attribute)
            truth[ATTRIBUTE] = attribute_truth(data, audit.rows, audit.is_member, population,
                                               self.secret_attribute)
        message = adversary_data(data, audit.rows, population, self.spec, self.recipe,
                                 exercise.threat_model, hidden)
        return AdversaryView(data=message, truth=truth)

    def report_info(self, view: AdversaryView) -> TargetInfo:
        from leakrange.report.schema import TargetInfo

        audit = view.truth_for(MEMBERSHIP)
        return TargetInfo(
            model_kind=self.spec.kind, dataset=self.dataset,
            n_members=int(audit.is_member.sum()), n_nonmembers=int((~audit.is_member).sum()),
            train_size=len(self.split.members),
            train_accuracy=self.train_accuracy, test_accuracy=self.test_accuracy,
            test_size=len(self.split.nonmembers),
            defences=defence_summary(self.recipe, self.defences),
        )


def defence_summary(recipe: TrainRecipe, delivered: dict[str, Any]) -> dict[str, Any]:
    """The recipe's defences as the report lists them (only those in use)."""
    out: dict[str, Any] = {}
    if recipe.weight_decay:
        out["weight_decay"] = recipe.weight_decay
    if recipe.label_smoothing:
        out["label_smoothing"] = recipe.label_smoothing
    if recipe.early_stopping is not None:
        out["early_stopping"] = {**recipe.early_stopping.model_dump(),
                                 "epochs_run": delivered.get("epochs_run")}
    if recipe.dp_sgd is not None:
        out["dp_sgd"] = {**recipe.dp_sgd.model_dump(), **delivered.get("dp_sgd", {})}
        out["dp_sgd"]["claimed_epsilon"] = recipe.dp_sgd.epsilon
        out["dp_sgd"]["epsilon"] = delivered.get("dp_sgd", {}).get("epsilon", recipe.dp_sgd.epsilon)
    return out
