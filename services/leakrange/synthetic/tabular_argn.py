"""``tabular-argn``: a deep generative model of the table (MOSTLY AI's TabularARGN).

Tiwald et al., "TabularARGN: A Flexible and Efficient Auto-Regressive Framework for Generating
High-Fidelity Synthetic Data", arXiv:2501.12012 (2025): an auto-regressive network over the
columns (each column's embedding conditioned on the previous ones through a small MLP), trained
by maximum likelihood with early stopping on a validation split, sampled column by column.
It is the range's deep generator (the CTGAN/TVAE class: a neural network fitted to the rows).

Library: ``mostlyai-engine`` (Apache-2.0, maintained by MOSTLY AI, pinned in the lock with
torch==2.13.0). Why this one: standalone ``ctgan`` and SDV are under the Business Source
License (not open source); synthcity pins torch<2.3; ``be-great`` needs a pretrained language
model from the Hugging Face hub (no downloads at run time here); ``realtabformer`` (MIT) trains
a GPT-2 from scratch, far slower on CPU. TabularARGN trains from scratch, offline, and runs on
CPU or CUDA (the library picks the device). Its optional ``value_protection`` (rare categories
and extreme values suppressed, a privacy measure of the library) is a parameter: a suppressed
category comes back as a placeholder, which the range maps to the column's most frequent value.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from leakrange.common.errors import MissingDependency
from leakrange.synthetic.table import TableColumns

MODELS = {"small": "MOSTLY_AI/Small", "medium": "MOSTLY_AI/Medium", "large": "MOSTLY_AI/Large"}


class TabularArgnParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: float = Field(default=20.0, gt=0.0, le=1000.0, description="at most; early stops")
    batch_size: int = Field(default=256, ge=8, le=65_536)
    model_size: Literal["small", "medium", "large"] = "medium"
    value_protection: bool = Field(default=False,
                                   description="the library's rare-value suppression")
    max_training_seconds: float = Field(default=3600.0, gt=0.0, le=86_400.0)


def _frame(table: np.ndarray, columns: TableColumns) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for j, (name, cats) in enumerate(zip(columns.names, columns.categories, strict=True)):
        data[name] = np.asarray(cats, dtype=object)[table[:, j].astype(np.int64)] \
            if cats is not None else table[:, j]
    return pd.DataFrame(data)


def _codes(frame: pd.DataFrame, original: np.ndarray, columns: TableColumns,
           domain: np.ndarray) -> np.ndarray:
    out = np.empty((len(frame), len(columns.names)), dtype=np.float64)
    for j, (name, cats) in enumerate(zip(columns.names, columns.categories, strict=True)):
        if cats is None:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64)
            fill = float(np.median(original[:, j]))
            out[:, j] = np.clip(np.where(np.isfinite(values), values, fill), *domain[j])
        else:
            codes = pd.Categorical(frame[name].astype(str), categories=list(cats)).codes
            mode = np.bincount(original[:, j].astype(np.int64), minlength=len(cats)).argmax()
            out[:, j] = np.where(codes >= 0, codes, mode)
    return out


def tabular_argn(original: np.ndarray, columns: TableColumns, n_rows: int,
                 params: TabularArgnParams, rng: np.random.Generator, domain: np.ndarray
                 ) -> np.ndarray:
    """Fit TabularARGN on ``original`` (decoded to its value names) and sample ``n_rows``."""
    try:
        from mostlyai.engine import TabularARGN
    except ImportError:
        raise MissingDependency("generator 'tabular-argn' needs mostlyai-engine: "
                                "pip install 'leakpro-range[synthetic]'") from None
    logging.getLogger("mostlyai").setLevel(logging.WARNING)
    seed = int(rng.integers(0, 2**31 - 1))
    model = TabularARGN(
        model=MODELS[params.model_size], max_epochs=params.epochs, batch_size=params.batch_size,
        max_training_time=params.max_training_seconds / 60.0,  # the library counts minutes
        value_protection=params.value_protection, enable_flexible_generation=False,
        random_state=seed, verbose=0,
    )
    model.fit(_frame(original, columns))
    sampled = model.sample(n_samples=n_rows)
    return _codes(sampled, original, columns, domain)
