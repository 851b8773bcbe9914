"""Per-principal query budgets, counted in records."""

from __future__ import annotations

import threading

from leakrange.common.errors import ResourceExhausted
from leakrange.common.query_budget import budget_is_limited, remaining_of
from leakrange.target.budget_ledger import BudgetLedger


class QueryBudget:
    """Thread-safe record counter per principal. ``limit`` ``UNLIMITED_BUDGET`` (0) means no limit.

    With a ``ledger`` the counts start from what the exercise already spent and every change
    is persisted before it takes effect (see ``budget_ledger``).
    """

    def __init__(self, limit: int, ledger: BudgetLedger | None = None,
                 unit: str = "records") -> None:
        self._limit = limit
        self._unit = unit  # what is counted: records (classifiers) or tokens (language models)
        self._ledger = ledger
        self._used: dict[str, int] = ledger.load() if ledger is not None else {}
        self._lock = threading.Lock()

    def _set(self, principal: str, used: int) -> None:
        """Persist first (a failed write charges nothing), then count. Caller holds the lock."""
        if self._ledger is not None:
            self._ledger.save({**self._used, principal: used})
        self._used[principal] = used

    @property
    def limit(self) -> int:
        return self._limit

    def remaining(self, principal: str) -> int:
        """Records left for ``principal``; ``UNLIMITED_REMAINING`` (-1) without a limit."""
        with self._lock:
            return remaining_of(self._limit, self._used.get(principal, 0))

    def used(self, principal: str) -> int:
        with self._lock:
            return self._used.get(principal, 0)

    def charge(self, principal: str, records: int) -> int:
        """Charge ``records`` or refuse the whole batch; returns the remaining budget."""
        with self._lock:
            used = self._used.get(principal, 0)
            if budget_is_limited(self._limit) and used + records > self._limit:
                left = self._limit - used
                raise ResourceExhausted(
                    f"query budget exhausted: {left} {self._unit} left, batch has {records}"
                )
            self._set(principal, used + records)
            return remaining_of(self._limit, used + records)

    def refund(self, principal: str, records: int) -> None:
        """Give back a charge for a batch that failed before it produced outputs."""
        with self._lock:
            self._set(principal, max(0, self._used.get(principal, 0) - records))
