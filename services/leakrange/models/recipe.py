"""``TrainRecipe``: how a model is trained (optimiser, schedule, seed) and the defences the
data owner applies while training: weight decay (L2), label smoothing, early stopping and
DP-SGD (``privacy.dp_sgd``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EarlyStopping(BaseModel):
    """Stop when the loss on a held-out share of the training records has not improved for
    ``patience`` epochs; the weights of the best epoch are kept. The held-out records are not
    trained on (the range counts only the records actually trained on as members)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patience: int = Field(default=3, ge=1, le=1000)
    validation_fraction: float = Field(default=0.1, gt=0.0, lt=0.5)


class DpSgd(BaseModel):
    """DP-SGD (Abadi et al., CCS 2016): Poisson-sampled batches, per-example gradients clipped
    to ``max_grad_norm``, Gaussian noise calibrated by the RDP accountant so that the planned
    epochs spend at most (``epsilon``, ``delta``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: float = Field(gt=0.0, le=1000.0)
    delta: float = Field(default=1e-5, gt=0.0, lt=1.0)
    max_grad_norm: float = Field(default=1.0, gt=0.0, le=1000.0)


class Privacy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dp_sgd: DpSgd | None = None


class TrainRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(default=1e-3, gt=0.0, le=10.0)
    epochs: int = Field(default=30, ge=1, le=10_000)
    batch_size: int = Field(default=128, ge=1, le=1_000_000)
    weight_decay: float = Field(default=0.0, ge=0.0, le=10.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, lt=2**63)
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    early_stopping: EarlyStopping | None = None
    privacy: Privacy | None = None

    @property
    def dp_sgd(self) -> DpSgd | None:
        return self.privacy.dp_sgd if self.privacy is not None else None

    @property
    def model_by_model(self) -> bool:
        """Whether this recipe must train one model at a time (DP-SGD's per-example clipping
        and early stopping's per-model schedule do not stack into one vmapped step)."""
        return self.dp_sgd is not None or self.early_stopping is not None
