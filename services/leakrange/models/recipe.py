"""``TrainRecipe``: how a model is trained (optimiser, schedule, seed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(default=1e-3, gt=0.0, le=10.0)
    epochs: int = Field(default=30, ge=1, le=10_000)
    batch_size: int = Field(default=128, ge=1, le=1_000_000)
    weight_decay: float = Field(default=0.0, ge=0.0, le=10.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, lt=2**63)
