"""Writes the small files of examples/bring-your-own-synthetic.yaml (run from the repository
root: ``.venv/bin/python examples/data/make_synthetic_files.py``).

Disjoint original (400), control (200) and reference (200) samples of eight Adult columns, and
a synthetic table of 400 rows standing in for one "generated elsewhere": the range's own
``dp-bayes`` generator (epsilon 3) fitted on the original only, written out as CSV like any
external tool's output. A few cells of the synthetic file are left blank to show how missing
values are handled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from leakrange.datasets.registry import load_table
from leakrange.synthetic.dp_bayes import DpBayesParams, dp_bayes
from leakrange.synthetic.table import columns_of, encode

OUT = Path(__file__).resolve().parent
CATEGORICAL = ("workclass", "education", "marital_status", "occupation", "sex", "income")
NUMERIC = ("age", "hours_per_week")


def main() -> None:
    table = load_table("adult")
    columns = columns_of(table, CATEGORICAL, NUMERIC)
    full = encode(table, columns)
    rows = np.random.default_rng(7).permutation(len(full))
    original, control, reference = full[rows[:400]], full[rows[400:600]], full[rows[600:800]]
    domain = np.stack([full.min(axis=0), full.max(axis=0)], axis=1)
    synthetic = dp_bayes(original, columns, 400, DpBayesParams(epsilon=3.0, bins=12),
                         np.random.default_rng(8), domain)
    for j, cats in enumerate(columns.categories):
        if cats is None:
            synthetic[:, j] = np.round(synthetic[:, j])
    for name, t in (("original", original), ("control", control), ("reference", reference),
                    ("synthetic", synthetic)):
        frame = pd.DataFrame({
            c: (np.asarray(cats)[t[:, j].astype(int)] if cats is not None else
                t[:, j].astype(int))
            for j, (c, cats) in enumerate(zip(columns.names, columns.categories, strict=True))})
        if name == "synthetic":
            frame = frame.astype(object)
            frame.loc[[3, 50, 120], "hours_per_week"] = ""
        frame.to_csv(OUT / f"adult-{name}.csv", index=False)


if __name__ == "__main__":
    main()
