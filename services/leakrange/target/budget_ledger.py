"""Where an exercise's query spending is kept: a manifest in the range's store.

The budget belongs to the exercise, not to one target process: a target that is redeployed
(resume after a kill, cancel and resume, an orchestrator restart) starts from what its
predecessors already charged. Charges are written before the answer leaves the target
(write-ahead), so a kill can lose an answer but never un-count a charge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from leakrange.artifacts import ArtifactStore
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound

LEDGER_PREFIX = "budgets"
_EXERCISE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class BudgetLedger:
    """Records charged per principal for one exercise, persisted in ``store``."""

    def __init__(self, store: ArtifactStore, exercise_id: str) -> None:
        if not _EXERCISE_ID.match(exercise_id):
            raise InvalidArgument("exercise_id", "must be 1-128 letters, digits, '.', '_' or '-'")
        self._store = store
        self._name = f"{LEDGER_PREFIX}/{exercise_id}"

    def load(self) -> dict[str, int]:
        try:
            doc = self._store.get_manifest(self._name)
        except NotFound:
            return {}
        used = doc.get("used")
        if not isinstance(used, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in used.items()
        ):
            raise IntegrityError("the exercise's budget ledger is corrupted")
        return dict(used)

    def save(self, used: Mapping[str, int]) -> None:
        self._store.put_manifest(self._name, {"used": dict(used)})
