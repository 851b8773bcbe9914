"""Evaluating the global model on the range's holdout (records no client holds) every
``eval_every`` rounds: the ServerApp's ``evaluate_fn`` runs it after each round's aggregation
and writes ``round-N/eval.json``; the range reads the rounds back (``read_evaluations``) and
records them with the run. Torch only (shared by the ServerApp and the range)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from leakrange.federation.observation_files import round_dir, write_json
from leakrange.models.spec import ModelSpec

EVAL = "eval.json"


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


def write_evaluation(out: Path, server_round: int, metrics: dict[str, float]) -> None:
    write_json(round_dir(out, server_round) / EVAL, {"round": server_round, **metrics})


def read_evaluations(out: Path) -> list[dict[str, float]]:
    """Every round's evaluation, in round order."""
    found = [json.loads(p.read_text(encoding="utf-8")) for p in out.glob(f"round-*/{EVAL}")]
    return sorted(found, key=lambda e: int(e["round"]))
