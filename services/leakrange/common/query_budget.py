"""What "unlimited" means for a query budget: one definition for every component.

The protos fix two wire values (``common.proto`` ``Access.query_budget``, ``target.proto``
``TargetInfo.remaining_budget`` / ``PredictResponse.remaining_budget``):

* a *budget* of ``UNLIMITED_BUDGET`` (0) records means no limit: a budget of zero records is never
  a useful exercise, so 0 is free to carry that meaning;
* a *remaining* count of ``UNLIMITED_REMAINING`` (-1) means no limit, because a remaining count of
  0 means the budget is spent.

Code compares with these names (or calls the predicates below), never with a bare 0 or -1.
"""

from __future__ import annotations

from typing import Final

UNLIMITED_BUDGET: Final = 0
UNLIMITED_REMAINING: Final = -1


def budget_is_limited(budget: int) -> bool:
    """True when a budget (records in total) sets a limit."""
    return budget != UNLIMITED_BUDGET


def remaining_is_limited(remaining: int) -> bool:
    """True when a remaining count is a real number of records, not "unlimited"."""
    return remaining != UNLIMITED_REMAINING


def remaining_of(budget: int, used: int) -> int:
    """The remaining count of a budget after ``used`` records, on the wire's terms."""
    return budget - used if budget_is_limited(budget) else UNLIMITED_REMAINING
