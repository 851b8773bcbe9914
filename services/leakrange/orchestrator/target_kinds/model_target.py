"""A trained model with a membership split: what the ``train`` and ``model`` kinds prepare.

The range serves the model through a Target service under the threat model's access policy.
Ground truth is the split; the adversaries get the shuffled, unlabelled audit set drawn from it
and the share of the adversary pool the threat model grants (``ground_truth.py`` draws both,
``adversary_view.py`` packs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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

        data = datasets.get(self.dataset)
        audit = build_audit(self.split, exercise.audit.records_per_side, exercise.seed)
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
        )
