"""What a synthetic-data attack reads from its run context: the released table, its columns,
the targets' known columns, the adversary's reference records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from leakrange.attacks.base import Attack
from leakrange.attacks.context import RunContext
from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import OutputKind
from leakrange.synthetic.table import TableColumns


@dataclass(frozen=True)
class Release:
    synthetic: np.ndarray
    columns: TableColumns
    known: tuple[int, ...]  # table columns of the targets' known values (audit x columns)
    secret: int
    link_a: tuple[int, ...]
    link_b: tuple[int, ...]
    targets: np.ndarray  # audit x: known columns of the targets
    reference: np.ndarray | None  # the adversary's own records (known columns)
    link_b_rows: np.ndarray | None  # link_b columns of the targets, shuffled

    @classmethod
    def of(cls, ctx: RunContext) -> Release:
        table = ctx.extras.get("synthetic_table")
        doc = ctx.extras.get("table_schema")
        if table is None or doc is None:
            raise InvalidArgument("data.synthetic", "this attack needs a synthetic release")
        columns = TableColumns.from_doc(doc)
        if table.shape[1] != len(columns.names):
            raise InvalidArgument("data.synthetic.x", "one column per schema column")
        try:
            known = tuple(columns.index(str(n), "table_schema.known") for n in doc["known"])
            secret = columns.index(str(doc["secret"]), "table_schema.secret")
            link_a = tuple(columns.index(str(n), "table_schema.link_a") for n in doc["link_a"])
            link_b = tuple(columns.index(str(n), "table_schema.link_b") for n in doc["link_b"])
        except (KeyError, TypeError):
            raise InvalidArgument("table_schema", "needs known, secret, link_a, link_b") from None
        if ctx.audit_x.shape[1] != len(known):
            raise InvalidArgument("data.audit.x", "one column per known column")
        return cls(table, columns, known, secret, link_a, link_b,
                   ctx.audit_x.astype(np.float64),
                   None if ctx.population_x is None else ctx.population_x.astype(np.float64),
                   ctx.extras.get("link_b"))

    def scaled(self, table_cols: tuple[int, ...], *arrays: np.ndarray) -> list[np.ndarray]:
        """Anonymeter's mixed-type distance space: numeric columns divided by their range in
        the synthetic table, categorical columns one-hot x 1/2 (a mismatch costs 1 in L1)."""
        parts: list[list[np.ndarray]] = [[] for _ in arrays]
        for pos, j in enumerate(table_cols):
            cats = self.columns.categories[j]
            if cats is None:
                col = self.synthetic[:, j]
                span = float(col.max() - col.min()) or 1.0
                for k, a in enumerate(arrays):
                    parts[k].append(a[:, pos:pos + 1] / span)
            else:
                eye = np.eye(len(cats)) * 0.5
                for k, a in enumerate(arrays):
                    parts[k].append(eye[np.clip(a[:, pos].astype(np.int64), 0, len(cats) - 1)])
        return [np.hstack(p) for p in parts]


def known_position(release: Release, table_col: int) -> int:
    return release.known.index(table_col)


# A release is attacked without querying any model: every output kind is fine, no target needed.
ALL_OUTPUTS: tuple[OutputKind, ...] = ("logits", "probabilities", "topk", "label")


class SyntheticAttack(Attack):
    """What every synthetic-data attack shares: its family, and that it needs no target."""

    family: ClassVar[str] = "synthetic"
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = ALL_OUTPUTS
    needs_target: ClassVar[bool] = False
