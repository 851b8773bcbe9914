"""Parameter blocks and input checks shared by the reference-model attacks."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from leakrange.attacks.base import AttackParams
from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition
from leakrange.models.precision import Precision


class ReferenceParams(AttackParams):
    reference_models: int = Field(default=8, ge=1, le=1024,
                                  description="Reference (shadow) models to train.")
    epochs: int | None = Field(default=None, ge=1, le=1000,
                               description="Override the recipe's epochs for reference models.")
    train_size: int | None = Field(
        default=None, ge=2,
        description="Records per reference model; match the target's training-set size when "
                    "known (default: half of the adversary's pool).")
    strategy: Literal["auto", "batched", "sequential"] = Field(
        default="auto", description="Train reference models at once (vmap) or one by one.")
    precision: Precision = Field(
        default="auto",
        description="Number format of batched reference training: bfloat16 computes in "
                    "bfloat16 with float32 weights and optimiser state (mixed precision); "
                    "auto picks it on CPUs with AMX bfloat16 units and float32 elsewhere. "
                    "Evaluation is float32 either way. The result states the choice "
                    "(reference_compute_bfloat16).")

    @model_validator(mode="after")
    def _precision_needs_batched(self) -> ReferenceParams:
        if self.precision == "bfloat16" and self.strategy == "sequential":
            raise ValueError("precision bfloat16 needs strategy auto or batched (the sequential "
                             "kernel trains in float32)")
        return self


def population(ctx: RunContext, attack: str, minimum: int = 2) -> tuple[np.ndarray, np.ndarray]:
    if ctx.population_x is None or ctx.population_y is None or len(ctx.population_x) < minimum:
        raise FailedPrecondition(
            f"data.population: attack '{attack}' needs at least {minimum} adversary records"
        )
    return ctx.population_x, ctx.population_y
