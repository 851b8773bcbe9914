"""A synthetic release: what the ``synthetic`` kind prepares. Nothing is served (no Target
service); the adversaries get the synthetic table, the known columns of some target records
(originals and controls mixed, unlabelled) and reference records of their own, never the
original or control tables, which stay ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from leakrange.common.attack_info import MEMBERSHIP, SYNTHETIC_RISK
from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import Access
from leakrange.orchestrator.backend import TargetDeploySpec
from leakrange.orchestrator.target_kinds.base import AdversaryView, PreparedTarget
from leakrange.synthetic.table import TableColumns, columns_json
from leakrange.v1 import attack_pb2

if TYPE_CHECKING:
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec import ExerciseSpec
    from leakrange.report.schema import TargetInfo


@dataclass(frozen=True, eq=False)
class MembershipAudit:
    """Which audit records are originals (members of the generator's training set)."""

    is_member: np.ndarray

    def __len__(self) -> int:
        return len(self.is_member)


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """Range-only: the three tables, the targets' rows and the answers the attacks are
    judged against (``scoring/synthetic_risk.py``)."""

    original: np.ndarray
    control: np.ndarray
    synthetic: np.ndarray
    columns: TableColumns
    secret: int
    known: tuple[int, ...]
    link_a: tuple[int, ...]
    link_b: tuple[int, ...]
    audit: np.ndarray  # full target records in audit order
    is_member: np.ndarray
    link_answer: np.ndarray  # audit row i -> its row in the shuffled link_b bundle
    utility: dict[str, Any] = field(default_factory=dict)
    generator: str = ""
    # In-painting targets (other records than the audit's): full rows, which cells the
    # adversary is told (True = known), and which rows are originals.
    inpaint_rows: np.ndarray | None = None
    inpaint_known: np.ndarray | None = None
    inpaint_member: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.is_member)


# What a hidden cell of an in-painting target holds in the adversary's copy (the known mask is
# what counts; a constant outside every built-in column's domain keeps no real row intact).
HIDDEN = -1.0


def _tensor(x: np.ndarray) -> Any:
    return to_proto(np.ascontiguousarray(x))


@dataclass(frozen=True)
class SyntheticRelease(PreparedTarget):
    dataset: str
    generator: str
    truth: SyntheticTruth
    reference: np.ndarray  # the adversary's own records from the distribution (all columns)

    def deploy_spec(self, access: Access) -> TargetDeploySpec | None:
        return None  # a release is only data: no Target service

    def adversary_view(self, exercise: ExerciseSpec, datasets: DatasetCache) -> AdversaryView:
        t = self.truth
        known = list(t.known)
        names = t.columns.names
        audit = attack_pb2.TensorBundle()
        audit.tensors["x"].CopyFrom(_tensor(t.audit[:, known].astype(np.float64)))
        audit.tensors["y"].CopyFrom(_tensor(np.zeros(len(t.audit), np.int64)))
        order = np.argsort(t.link_answer)  # shuffled row k holds audit row order[k]
        audit.tensors["link_b"].CopyFrom(_tensor(t.audit[order][:, list(t.link_b)]))
        if t.inpaint_rows is not None and t.inpaint_known is not None:
            shown = np.where(t.inpaint_known, t.inpaint_rows, HIDDEN)
            audit.tensors["inpaint_x"].CopyFrom(_tensor(shown.astype(np.float64)))
            audit.tensors["inpaint_known"].CopyFrom(_tensor(t.inpaint_known.astype(np.float64)))
        population = attack_pb2.TensorBundle()
        if len(self.reference):  # a bring-your-own release may come without reference records
            population.tensors["x"].CopyFrom(_tensor(self.reference[:, known]))
            population.tensors["y"].CopyFrom(_tensor(np.zeros(len(self.reference), np.int64)))
        synthetic = attack_pb2.TensorBundle()
        synthetic.tensors["x"].CopyFrom(_tensor(t.synthetic))
        data = attack_pb2.AdversaryData(
            audit=audit, population=population, synthetic=synthetic, dataset=self.dataset,
            table_schema_json=columns_json(
                t.columns, tuple(names[j] for j in known), names[t.secret],
                (tuple(names[j] for j in t.link_a), tuple(names[j] for j in t.link_b))),
        )
        return AdversaryView(data=data, truth={MEMBERSHIP: MembershipAudit(t.is_member),
                                               SYNTHETIC_RISK: t})

    def report_info(self, view: AdversaryView) -> TargetInfo:
        from leakrange.report.schema import TargetInfo

        t = self.truth
        return TargetInfo(
            model_kind=f"synthetic release ({self.generator})", dataset=self.dataset,
            n_members=int(t.is_member.sum()), n_nonmembers=int((~t.is_member).sum()),
            train_size=len(t.original),
        )
