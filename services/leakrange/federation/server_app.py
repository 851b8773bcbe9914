"""The range's Flower ServerApp: FedAvg (McMahan et al., AISTATS 2017) over every node, as an
honest server runs it, recording what the threat model lets the adversary see.

``RecordingFedAvg`` is Flower's own ``FedAvg``; it only writes files beside it:
- when the adversary is the server (``record_updates``), the global model of each round and
  every client's returned weights with its record count (an honest-but-curious server sees
  exactly these);
- when the adversary is a malicious server (``crafted_file``), in ``crafted_round`` it sends
  the global model with Robbing the Fed's imprint block in front (``models/imprint.py``; the
  block's weights crafted range side by ``fl_attacks.imprint.imprint_model``) and tells the
  clients the spec of that model; the round's aggregate is then dropped and the federation goes
  on from the global model the crafted one stood in for (the server keeps its own model);
- always a ``done.json`` per finished round (the range's own progress record);
- every ``eval_every`` rounds, the global model's accuracy on the range's holdout (records no
  client holds), as ``eval.json`` (``evaluation.py``: Flower's central ``evaluate_fn``).
The run's settings come from a JSON file the range writes (``settings-file`` in the run config).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from leakrange.federation.evaluation import due, evaluate_state, write_evaluation
from leakrange.federation.observation_files import (
    DONE,
    GLOBAL,
    client_file,
    read_arrays,
    round_dir,
    write_arrays,
    write_json,
)
from leakrange.federation.settings import FederationSettings
from leakrange.models.imprint import imprinted_state

app = ServerApp()


class RecordingFedAvg(FedAvg):
    def __init__(self, settings: FederationSettings) -> None:
        n = settings.clients
        super().__init__(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=n,
                         min_available_nodes=n)
        self._s = settings
        self._out = Path(settings.out_dir)
        self._honest: ArrayRecord | None = None  # the global model a crafted round stood in for

    def _crafted(self, server_round: int) -> bool:
        s = self._s
        return bool(s.crafted_file) and server_round == s.crafted_round

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        s = self._s
        if self._crafted(server_round):
            crafted = s.crafted_model()
            if crafted is None:
                raise ValueError("crafted_file needs crafted_model_spec")
            block = {k: torch.from_numpy(v) for k, v in read_arrays(Path(s.crafted_file)).items()}
            self._honest = arrays
            arrays = ArrayRecord(imprinted_state(block, arrays.to_torch_state_dict()))
            # a copy: Flower hands the same train config to every round
            config = ConfigRecord({**dict(config.items()),
                                   "model-spec": crafted.model_dump_json()})
        if s.record_updates:
            write_arrays(round_dir(self._out, server_round) / GLOBAL,
                         {k: v.numpy() for k, v in arrays.to_torch_state_dict().items()})
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        clients: dict[str, dict[str, float]] = {}
        for msg in replies:
            if msg.has_error():
                continue
            metrics = msg.content["metrics"]
            k = int(metrics["partition-id"])
            clients[str(k)] = {"records": float(metrics["num-examples"]),
                               "train_loss": float(metrics["train-loss"])}
            if self._s.record_updates:
                state = msg.content["arrays"].to_torch_state_dict()
                write_arrays(client_file(self._out, server_round, k),
                             {name: v.numpy() for name, v in state.items()})
        result = super().aggregate_train(server_round, replies)
        if self._crafted(server_round) and self._honest is not None:
            result = (self._honest, result[1])
        write_json(round_dir(self._out, server_round) / DONE,
                   {"round": server_round, "clients": clients,
                    "failures": sum(1 for m in replies if m.has_error())})
        return result


def holdout_evaluator(settings: FederationSettings
                      ) -> Callable[[int, ArrayRecord], MetricRecord | None] | None:
    """Flower's ``evaluate_fn``: the global model on the holdout, every ``eval_every`` rounds."""
    if settings.eval_every <= 0 or not settings.holdout_file:
        return None
    holdout = read_arrays(Path(settings.holdout_file))
    out = Path(settings.out_dir)

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        if not due(server_round, settings.eval_every):
            return None
        metrics = evaluate_state(settings.model(), arrays.to_torch_state_dict(),
                                 holdout["x"], holdout["y"])
        write_evaluation(out, server_round, metrics)
        return MetricRecord({"holdout-accuracy": metrics["accuracy"],
                             "holdout-loss": metrics["loss"]})

    return evaluate


@app.main()
def main(grid: Grid, context: Context) -> None:
    from leakrange.models.zoo import build_model

    settings = FederationSettings.model_validate_json(
        Path(str(context.run_config["settings-file"])).read_text(encoding="utf-8"))
    torch.manual_seed(settings.seed)
    model = build_model(settings.model())
    initial = ArrayRecord(model.state_dict())
    strategy = RecordingFedAvg(settings)
    train_config = ConfigRecord({
        "lr": settings.lr, "batch-size": settings.batch_size,
        "local-epochs": settings.local_epochs, "seed": settings.seed,
        "model-spec": json.dumps(settings.model_spec),
    })
    result = strategy.start(grid=grid, initial_arrays=initial, num_rounds=settings.rounds,
                            timeout=settings.round_timeout, train_config=train_config,
                            evaluate_fn=holdout_evaluator(settings))
    final = result.arrays.to_torch_state_dict()
    write_arrays(Path(settings.out_dir) / "final.safetensors",
                 {k: v.numpy() for k, v in final.items()})
