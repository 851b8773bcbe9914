"""What a federated adversary observed, read from its run context.

The range hands it over as named tensors of ``data.audit`` (``attacks/servicer.py`` collects
every ``fl.``-prefixed one into ``ctx.extras["federated"]``), and the federation's setting as
the recipe (``recipe_json``):
- ``fl.global.r<R>.<param>``: the global model sent in round R (every role sees these);
- ``fl.update.r<R>.c<K>.<param>``: the weights client K sent back in round R (server roles
  only; the range never hands a client adversary another client's update);
- ``fl.records.r<R>``: int64 [clients], the record counts the clients reported;
- ``fl.labels.r<R>.c<K>``: int64, the true labels (sorted) of the records behind client K's
  update of round R, only when the threat model grants them
  (``threat_model.knowledge.labels_known``; the attacks then skip label recovery).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition, InvalidArgument
from leakrange.models import ModelSpec, build_model, validate_spec

_GLOBAL = re.compile(r"^fl\.global\.r(\d+)\.(.+)$")
_UPDATE = re.compile(r"^fl\.update\.r(\d+)\.c(\d+)\.(.+)$")
_RECORDS = re.compile(r"^fl\.records\.r(\d+)$")
_LABELS = re.compile(r"^fl\.labels\.r(\d+)\.c(\d+)$")


class FederatedRecipe(BaseModel):
    """The federation's setting as the adversary knows it (``recipe_json``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: str
    clients: int = Field(ge=1)
    rounds: int = Field(ge=1)
    local_epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    records_per_client: int = Field(ge=1)
    adversary_client: int | None = None
    crafted_round: int = 0  # malicious server: the round it sent the imprint model
    imprint_bins: int = 0  # malicious server: the imprint block's bins in that round

    @property
    def fedsgd(self) -> bool:
        return self.local_epochs == 1 and self.batch_size >= self.records_per_client


@dataclass(frozen=True)
class Observation:
    recipe: FederatedRecipe
    spec: ModelSpec
    globals: dict[int, dict[str, np.ndarray]]
    updates: dict[tuple[int, int], dict[str, np.ndarray]]
    records: dict[int, np.ndarray]
    # The granted labels of each update (empty unless the threat model grants them).
    labels: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    labels_known: bool = False

    @classmethod
    def of(cls, ctx: RunContext) -> Observation:
        tensors: dict[str, np.ndarray] = ctx.extras.get("federated") or {}
        if not tensors:
            raise InvalidArgument("data.audit", "this attack needs a federated observation "
                                  "(fl.* tensors)")
        try:
            recipe = FederatedRecipe.model_validate_json(ctx.recipe_json)
        except ValidationError:
            raise InvalidArgument("data.recipe_json", "not a federated setting") from None
        try:
            spec = validate_spec(json.loads(ctx.model_spec_json))
        except ValueError:
            raise InvalidArgument("data.model_spec_json", "not a model spec") from None
        globals_: dict[int, dict[str, np.ndarray]] = {}
        updates: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        records: dict[int, np.ndarray] = {}
        labels: dict[tuple[int, int], np.ndarray] = {}
        for name, value in tensors.items():
            if m := _GLOBAL.match(name):
                globals_.setdefault(int(m.group(1)), {})[m.group(2)] = value
            elif m := _UPDATE.match(name):
                updates.setdefault((int(m.group(1)), int(m.group(2))), {})[m.group(3)] = value
            elif m := _RECORDS.match(name):
                records[int(m.group(1))] = value.astype(np.int64)
            elif m := _LABELS.match(name):
                if value.dtype.kind not in "iu" or value.ndim != 1 or (
                        value.size and (value.min() < 0 or value.max() >= spec.num_classes)):
                    raise InvalidArgument(f"data.audit.{name[:64]}", "must be class indices")
                labels[(int(m.group(1)), int(m.group(2)))] = value.astype(np.int64)
            else:
                raise InvalidArgument(f"data.audit.{name[:64]}", "unknown federated tensor")
        known = ctx.threat_model.knowledge.labels_known
        return cls(recipe, spec, globals_, updates, records, labels if known else {}, known)

    def model_at(self, server_round: int) -> nn.Module:
        """The global model of ``server_round`` as a module."""
        if server_round not in self.globals:
            raise FailedPrecondition(f"round {server_round} was not observed")
        model = build_model(self.spec_at(server_round))
        try:
            model.load_state_dict({k: torch.from_numpy(np.array(v, np.float32))
                                   for k, v in self.globals[server_round].items()})
        except (RuntimeError, KeyError):
            raise InvalidArgument("data.audit", f"global model of round {server_round} does "
                                  "not fit the model spec") from None
        return model.eval()

    def spec_at(self, server_round: int) -> ModelSpec:
        """The global model's spec in ``server_round``: a malicious server's crafted round has
        the imprint block in front (``ModelSpec.imprint_bins``)."""
        r = self.recipe
        if r.role == "malicious_server" and r.imprint_bins and server_round == r.crafted_round:
            return self.spec.model_copy(update={"imprint_bins": r.imprint_bins})
        return self.spec

    def server_pairs(self, rounds: list[int] | None, clients: list[int] | None
                     ) -> list[tuple[int, int]]:
        """The (round, client) updates to attack: the requested ones that were observed."""
        if not self.updates:
            raise FailedPrecondition("this adversary observed no client updates (it is not "
                                     "the server)")
        pairs = sorted(p for p in self.updates
                       if (rounds is None or p[0] in rounds)
                       and (clients is None or p[1] in clients))
        if not pairs:
            raise FailedPrecondition("none of the requested rounds/clients was observed")
        return pairs

    def gradient(self, server_round: int, client: int) -> dict[str, np.ndarray]:
        """FedSGD: the client's mean batch gradient, (global - returned) / lr."""
        g = self.globals[server_round]
        u = self.updates[(server_round, client)]
        return {k: (g[k].astype(np.float64) - u[k].astype(np.float64)) / self.recipe.lr
                for k in g}

    def delta(self, server_round: int, client: int) -> dict[str, np.ndarray]:
        g = self.globals[server_round]
        u = self.updates[(server_round, client)]
        return {k: u[k].astype(np.float64) - g[k].astype(np.float64) for k in g}

    def granted_labels(self, server_round: int, client: int) -> np.ndarray | None:
        """The true labels behind an update when the threat model grants them, else None."""
        if not self.labels_known:
            return None
        found = self.labels.get((server_round, client))
        if found is None or len(found) != self.batch_records(server_round, client):
            raise FailedPrecondition(f"the threat model grants labels but none came with the "
                                     f"update of round {server_round}, client {client}")
        return found

    def batch_records(self, server_round: int, client: int) -> int:
        counts = self.records.get(server_round)
        if counts is None or client >= len(counts):
            return self.recipe.records_per_client
        return int(counts[client])
