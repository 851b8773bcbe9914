"""The settings the range hands a federation run, read by the ServerApp: a JSON file
(``settings-file`` in the run config, the local range) or the ``settings`` document in the
range's store under the run's ``store-prefix`` (the Kubernetes range, ``observation_store``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leakrange.models.spec import ModelSpec


class FederationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    clients: int = Field(ge=1, le=64)
    rounds: int = Field(ge=1, le=100)
    local_epochs: int = Field(ge=1, le=100)
    batch_size: int = Field(ge=1, le=100_000)
    lr: float = Field(gt=0, le=100)
    seed: int = Field(ge=0, lt=2**31)
    model_spec: dict[str, Any]
    out_dir: str = ""  # local range: the folder the ServerApp writes (see store-prefix below)
    record_updates: bool = False
    # Client adversary on the Kubernetes range: the ServerApp records the global model it
    # sends each round (every node is sampled every round and receives the same model).
    record_globals: bool = False
    crafted_round: int = 0
    # Malicious server: the imprint block's crafted weights (``imprint.*``, safetensors) and
    # the spec of the model they make with the global one (``ModelSpec.imprint_bins``).
    crafted_file: str = ""
    crafted_model_spec: dict[str, Any] | None = None
    round_timeout: float = Field(default=600.0, gt=0)
    # Evaluate the global model on the range's holdout every N rounds (0: never).
    eval_every: int = Field(default=0, ge=0)
    holdout_file: str = ""

    def model(self) -> ModelSpec:
        return ModelSpec.model_validate(self.model_spec)

    def crafted_model(self) -> ModelSpec | None:
        if self.crafted_model_spec is None:
            return None
        return ModelSpec.model_validate(self.crafted_model_spec)
