"""Which subgroup each audit record belongs to (``audit.subgroups``): the value of a
categorical column of the data set, range side only. The membership scorer measures each
attack's TPR at a fixed FPR within every subgroup (``scoring/subgroups.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from leakrange.common.errors import InvalidArgument, RangeError

if TYPE_CHECKING:
    from leakrange.datasets import Dataset
    from leakrange.orchestrator.spec import ExerciseSpec

WHERE = "audit.subgroups.attribute"
UNKNOWN = "(missing)"


@dataclass(frozen=True, eq=False)
class Subgroups:
    """Audit records' subgroup codes (aligned with the audit set) and the codes' names."""

    attribute: str
    names: tuple[str, ...]
    codes: np.ndarray  # int64, index into ``names``
    fpr: float


def subgroup_codes(data: Dataset, rows: np.ndarray, attribute: str) -> tuple[tuple[str, ...],
                                                                              np.ndarray]:
    """The value of ``attribute`` for ``rows``, from its one-hot ``attribute=value`` features.
    Rows with none of the values set (a category unseen when encoding) are ``(missing)``."""
    names = data.feature_names or []
    cols = [i for i, n in enumerate(names) if n.startswith(f"{attribute}=")]
    if len(cols) < 2:
        raise InvalidArgument(WHERE, "must be a categorical column of the data set")
    onehot = data.x[rows][:, cols]
    codes = onehot.argmax(axis=1).astype(np.int64)
    values = tuple(names[c].split("=", 1)[1] for c in cols)
    missing = onehot.max(axis=1) <= 0
    if missing.any():
        codes[missing] = len(values)
        values = (*values, UNKNOWN)
    return values, codes


def subgroup_problems(spec: ExerciseSpec) -> list[tuple[str, str]]:
    """The subgroup attribute must be a categorical column of the target's data set (checked
    here for targets the range trains; other kinds are checked when their data is loaded)."""
    from leakrange.datasets import dataset_entry

    chosen = spec.audit.subgroups
    train = getattr(spec.target, "train", None)
    if chosen is None or train is None:
        return []
    try:
        entry = dataset_entry(train.dataset)
    except RangeError:
        return []  # the target kind's own check names the data set
    columns = entry.schema.categorical if entry.schema is not None else ()
    if chosen.attribute not in columns:
        listed = ", ".join(columns) if columns else "none: not a tabular data set"
        return [(WHERE, f"must be a categorical column ({listed})")]
    return []
