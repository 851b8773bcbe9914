"""Evaluating the global model on the range's holdout (records no client holds) every
``eval_every`` rounds: the ServerApp's ``evaluate_fn`` runs it after each round's aggregation
and writes ``round-N/eval`` (``eval.json`` in a folder, or the store); the range reads the
rounds back (``read_evaluations``) and records them with the run. Torch only (shared by the
ServerApp and the range)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from leakrange.federation.observation_files import (
    FolderObservations,
    Observations,
    eval_name,
)
from leakrange.models.spec import ModelSpec

EVAL = "eval.json"
_EVAL_NAME = re.compile(r"^round-([0-9]+)/eval$")


def evaluate_state(model_spec: ModelSpec, state: dict[str, torch.Tensor], x: np.ndarray,
                   y: np.ndarray) -> dict[str, float]:
    """Accuracy and mean cross-entropy of the model with weights ``state`` on (x, y)."""
    from leakrange.models.zoo import build_model

    model = build_model(model_spec)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        target = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        loss = float(F.cross_entropy(logits, target).item())
        accuracy = float((logits.argmax(dim=1) == target).float().mean().item())
    return {"accuracy": accuracy, "loss": loss, "records": float(len(y))}


def due(server_round: int, eval_every: int) -> bool:
    return eval_every > 0 and server_round >= 1 and server_round % eval_every == 0


def _observations(out: Path | Observations) -> Observations:
    return FolderObservations(out) if isinstance(out, Path) else out


def write_evaluation(out: Path | Observations, server_round: int, metrics: dict[str, float]
                     ) -> None:
    _observations(out).write_json(eval_name(server_round), {"round": server_round, **metrics})


def read_evaluations(out: Path | Observations) -> list[dict[str, float]]:
    """Every round's evaluation, in round order."""
    obs = _observations(out)
    found = (_EVAL_NAME.match(n) for n in obs.names())
    rounds = sorted(int(m.group(1)) for m in found if m)
    return [dict(obs.read_json(eval_name(r))) for r in rounds]
