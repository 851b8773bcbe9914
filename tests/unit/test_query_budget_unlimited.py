""""Unlimited" query budget: one definition (``common.query_budget``) used by every component.

The protos define the wire values (0 in ``Access.query_budget``, -1 in ``remaining_budget``); the
code must not re-derive them with bare literals, which is how the two meanings drifted apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from leakrange.common.query_budget import (
    UNLIMITED_BUDGET,
    UNLIMITED_REMAINING,
    budget_is_limited,
    remaining_is_limited,
    remaining_of,
)
from leakrange.common.threat_model import Access
from leakrange.target.budget import QueryBudget
from leakrange.target.policy import AccessPolicy

PACKAGE = Path(__file__).resolve().parents[2] / "services" / "leakrange"
PROTOS = Path(__file__).resolve().parents[2] / "protos" / "leakrange" / "v1"


def test_the_wire_values_are_the_ones_the_protos_document() -> None:
    def comments(name: str) -> str:
        text = (PROTOS / name).read_text().replace("//", " ")
        return " ".join(text.split())

    assert f"it is the value {UNLIMITED_BUDGET} here" in comments("common.proto")
    assert f"the wire value is {UNLIMITED_REMAINING} here" in comments("target.proto")


def test_an_unlimited_budget_reports_unlimited_remaining_and_never_refuses() -> None:
    budget = QueryBudget(UNLIMITED_BUDGET)
    assert budget.remaining("a") == UNLIMITED_REMAINING
    assert budget.charge("a", 10**9) == UNLIMITED_REMAINING
    assert budget.remaining("a") == UNLIMITED_REMAINING


def test_a_limited_budget_counts_down_to_zero_which_is_not_unlimited() -> None:
    budget = QueryBudget(5)
    assert budget.charge("a", 5) == 0
    assert remaining_is_limited(budget.remaining("a"))
    assert remaining_of(5, 5) == 0
    assert remaining_of(UNLIMITED_BUDGET, 5) == UNLIMITED_REMAINING


@pytest.mark.parametrize("budget", [UNLIMITED_BUDGET, 1, 1000])
def test_defaults_and_predicates_agree(budget: int) -> None:
    assert Access().query_budget == UNLIMITED_BUDGET
    assert AccessPolicy().query_budget == UNLIMITED_BUDGET
    assert budget_is_limited(budget) == (budget != UNLIMITED_BUDGET)


def _literal(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int)):
        return -node.operand.value
    return None


def _names(node: ast.expr) -> str:
    return " ".join(
        n.id if isinstance(n, ast.Name) else n.attr
        for n in ast.walk(node) if isinstance(n, ast.Name | ast.Attribute)
    ).lower()


def _offending_compares(tree: ast.AST, source: str, about_budgets: bool = False) -> list[int]:
    """Lines where a function about budgets (or any function of a budget module) tests a
    limit/remaining count against 0 or -1 for equality or as a lower bound (``< 0`` range checks
    of an input are fine)."""
    lines = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not about_budgets and "budget" not in (ast.get_source_segment(source, func) or ""):
            continue
        for node in ast.walk(func):
            if not isinstance(node, ast.Compare):
                continue
            if all(isinstance(op, ast.Lt | ast.LtE) for op in node.ops):
                continue
            sides = [node.left, *node.comparators]
            words = set(" ".join(_names(s) for s in sides).replace("_", " ").split())
            if words & {"limit", "left", "remaining", "budget"} and any(
                _literal(s) in (0, -1) for s in sides
            ):
                lines.append(node.lineno)
    return sorted(set(lines))


def test_no_budget_code_compares_with_a_bare_zero_or_minus_one() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "v1" or path.name == "query_budget.py":
            continue
        source = path.read_text()
        tree = ast.parse(source, str(path))
        offenders += [f"{path.relative_to(PACKAGE)}:{n}" for n in _offending_compares(
            tree, source, about_budgets="budget" in path.name)]
    assert not offenders, f"use leakrange.common.query_budget instead: {offenders}"


def test_the_scan_finds_the_old_spelling() -> None:
    old = (
        "def remaining(self, principal):\n"
        "    # budget\n"
        "    if self._limit == 0:\n"
        "        return -1\n"
        "def ensure_budget(left, needed):\n"
        "    return left >= 0 and needed > left\n"
    )
    assert _offending_compares(ast.parse(old), old) == [3, 6]
