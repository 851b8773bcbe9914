"""What only the range knows about a model target: the audit set's membership labels and the
rows the adversary may hold, both drawn from the target's split.

``build_audit`` draws the balanced audit set and shuffles it; its ``is_member`` never leaves the
orchestrator. Preparing targets is the target kinds' job (``target_kinds/``); ``prepare_target``
asks the kind a spec names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from leakrange.artifacts import ArtifactStore
from leakrange.common.threat_model import Knowledge
from leakrange.datasets import Split
from leakrange.orchestrator.dataset_cache import DatasetCache
from leakrange.orchestrator.subgroups import Subgroups
from leakrange.orchestrator.target_kinds import ModelTarget, PrepareContext, PreparedTarget, resolve
from leakrange.orchestrator.target_kinds.train import TARGET_CACHE_PREFIX, train_cache_key

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]

__all__ = [
    "TARGET_CACHE_PREFIX",
    "AuditSet",
    "DatasetCache",
    "ModelTarget",
    "adversary_rows",
    "build_audit",
    "prepare_target",
    "train_cache_key",
]


@dataclass(frozen=True, eq=False)
class AuditSet:
    """Audit records in the order the adversary sees them, and (range only) who is a member."""

    rows: np.ndarray  # int64 data set rows, shuffled
    is_member: np.ndarray  # bool, aligned with ``rows``
    # What the target's training claims under DP-SGD (claimed epsilon, delta, accountant's
    # epsilon), for the DP audit of membership scores; None when it claims nothing.
    dp_claim: dict[str, float] | None = None
    # Each audit record's subgroup (``audit.subgroups``) for disparate vulnerability; or None.
    subgroups: Subgroups | None = None

    def __len__(self) -> int:
        return len(self.rows)


def prepare_target(
    store: ArtifactStore,
    target: BaseModel,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    datasets: DatasetCache | None = None,
) -> PreparedTarget:
    """Prepare the target a ``TargetSpec`` names, through its kind."""
    kind, part = resolve(target)
    return kind.prepare(part, PrepareContext(store, datasets or DatasetCache(store=store), progress,
                                             should_stop))


def build_audit(split: Split, records_per_side: int | None, seed: int) -> AuditSet:
    """A balanced member / non-member sample, shuffled (same seed -> same audit set)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA0D1]))
    n = min(len(split.members), len(split.nonmembers))
    if records_per_side is not None:
        n = min(n, records_per_side)
    members = rng.choice(split.members, size=n, replace=False)
    nonmembers = rng.choice(split.nonmembers, size=n, replace=False)
    rows = np.concatenate([members, nonmembers]).astype(np.int64)
    labels = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    order = rng.permutation(2 * n)
    return AuditSet(rows=rows[order], is_member=labels[order])


def adversary_rows(split: Split, knowledge: Knowledge, seed: int) -> np.ndarray:
    """Rows the adversary holds: ``data_fraction`` of the adversary pool, plus the same
    fraction of the members when the threat model says its data overlaps them (shuffled)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xADF0]))
    pool = split.adversary
    take = round(knowledge.data_fraction * len(pool))
    rows = rng.choice(pool, size=take, replace=False) if take else np.zeros(0, np.int64)
    if knowledge.data_overlaps_members:
        overlap = round(knowledge.data_fraction * len(split.members))
        rows = np.concatenate([rows, rng.choice(split.members, size=overlap, replace=False)])
    return rng.permutation(rows.astype(np.int64))
