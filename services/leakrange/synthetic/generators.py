"""The generators the range can fit on an original table, by name (``target.synthetic.generator``).

Each is a function (original, columns, n_rows, params, rng, domain) -> synthetic table with its
parameter model; ``GENERATORS`` lists them (no module-level mutable state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from leakrange.common.errors import InvalidArgument
from leakrange.synthetic.copy_noise import CopyWithNoiseParams, copy_with_noise
from leakrange.synthetic.dp_bayes import DpBayesParams, dp_bayes
from leakrange.synthetic.table import TableColumns
from leakrange.synthetic.tabular_argn import TabularArgnParams, tabular_argn

Fit = Callable[[np.ndarray, TableColumns, int, Any, np.random.Generator, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Generator:
    name: str
    summary: str
    params: type[BaseModel]
    fit_sample: Fit

    def parse(self, params: dict[str, Any]) -> BaseModel:
        try:
            return self.params.model_validate(params)
        except ValidationError as err:
            loc = ".".join(str(p) for p in err.errors()[0]["loc"])
            raise InvalidArgument(f"target.synthetic.generator.params.{loc}",
                                  err.errors()[0]["msg"]) from None


GENERATORS: tuple[Generator, ...] = (
    Generator("copy-with-noise", "original rows plus a little noise (deliberately leaky)",
              CopyWithNoiseParams,
              lambda o, c, n, p, r, d: copy_with_noise(o, c, n, p, r)),
    Generator("dp-bayes", "epsilon-DP Bayesian network (PrivBayes class, OpenDP mechanisms)",
              DpBayesParams, dp_bayes),
    Generator("tabular-argn", "deep auto-regressive network (TabularARGN, mostlyai-engine)",
              TabularArgnParams, tabular_argn),
)


def generator(name: str) -> Generator:
    for g in GENERATORS:
        if g.name == name:
            return g
    raise InvalidArgument("target.synthetic.generator.name",
                          f"unknown generator (available: {', '.join(g.name for g in GENERATORS)})")
