"""Per-principal query budgets, counted in records."""

from __future__ import annotations

import threading

from leakrange.common.errors import ResourceExhausted


class QueryBudget:
    """Thread-safe record counter per principal. ``limit`` 0 means unlimited."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._limit

    def remaining(self, principal: str) -> int:
        """Records left for ``principal``; -1 when unlimited."""
        if self._limit == 0:
            return -1
        with self._lock:
            return self._limit - self._used.get(principal, 0)

    def used(self, principal: str) -> int:
        with self._lock:
            return self._used.get(principal, 0)

    def charge(self, principal: str, records: int) -> int:
        """Charge ``records`` or refuse the whole batch; returns the remaining budget."""
        with self._lock:
            used = self._used.get(principal, 0)
            if self._limit and used + records > self._limit:
                left = self._limit - used
                raise ResourceExhausted(
                    f"query budget exhausted: {left} records left, batch has {records}"
                )
            self._used[principal] = used + records
            return self._limit - used - records if self._limit else -1

    def refund(self, principal: str, records: int) -> None:
        """Give back a charge for a batch that failed before it produced outputs."""
        with self._lock:
            self._used[principal] = max(0, self._used.get(principal, 0) - records)
