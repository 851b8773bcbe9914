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
The run's settings come from a JSON file the range writes (``settings-file`` in the run config)
and the files go to ``out_dir`` (the local range); or, when the run config names a ``store`` and
a ``store-prefix`` (the Kubernetes range: this process runs in the SuperLink pod with the
range's store identity), the settings, crafted model and holdout are read from the range's
store under that prefix and the records written there (``observation_store.py``). When the
adversary is a client there (``record_globals``), the global model of each round is recorded:
every node is sampled every round and receives that same model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from leakrange.federation.evaluation import due, evaluate_state, write_evaluation
from leakrange.federation.observation_files import (
    FINAL,
    FolderObservations,
    Observations,
    client_name,
    done_name,
    global_name,
    read_arrays,
)
from leakrange.federation.settings import FederationSettings
from leakrange.models.imprint import imprinted_state

app = ServerApp()


class RecordingFedAvg(FedAvg):
    def __init__(self, settings: FederationSettings, out: Observations,
                 crafted: dict[str, np.ndarray] | None = None) -> None:
        n = settings.clients
        super().__init__(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=n,
                         min_available_nodes=n)
        self._s = settings
        self._out = out
        self._crafted = crafted  # the imprint block's weights (imprint.*), malicious server
        self._honest: ArrayRecord | None = None  # the global model a crafted round stood in for

    def _is_crafted(self, server_round: int) -> bool:
        return self._crafted is not None and server_round == self._s.crafted_round

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        s = self._s
        if self._is_crafted(server_round):
            crafted = s.crafted_model()
            if crafted is None or self._crafted is None:
                raise ValueError("a crafted round needs crafted_model_spec and the block")
            block = {k: torch.from_numpy(v) for k, v in self._crafted.items()}
            self._honest = arrays
            arrays = ArrayRecord(imprinted_state(block, arrays.to_torch_state_dict()))
            # a copy: Flower hands the same train config to every round
            config = ConfigRecord({**dict(config.items()),
                                   "model-spec": crafted.model_dump_json()})
        if s.record_updates or s.record_globals:
            self._out.write_arrays(global_name(server_round),
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
                self._out.write_arrays(client_name(server_round, k),
                                       {name: v.numpy() for name, v in state.items()})
        result = super().aggregate_train(server_round, replies)
        if self._is_crafted(server_round) and self._honest is not None:
            result = (self._honest, result[1])
        self._out.write_json(done_name(server_round),
                             {"round": server_round, "clients": clients,
                              "failures": sum(1 for m in replies if m.has_error())})
        return result


def holdout_evaluator(settings: FederationSettings, out: Observations,
                      holdout: dict[str, np.ndarray] | None
                      ) -> Callable[[int, ArrayRecord], MetricRecord | None] | None:
    """Flower's ``evaluate_fn``: the global model on the holdout, every ``eval_every`` rounds."""
    if settings.eval_every <= 0 or holdout is None:
        return None

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        if not due(server_round, settings.eval_every):
            return None
        metrics = evaluate_state(settings.model(), arrays.to_torch_state_dict(),
                                 holdout["x"], holdout["y"])
        write_evaluation(out, server_round, metrics)
        return MetricRecord({"holdout-accuracy": metrics["accuracy"],
                             "holdout-loss": metrics["loss"]})

    return evaluate


@dataclass(frozen=True)
class RunInputs:
    """What a run reads: its settings, where it records, and its optional inputs."""

    settings: FederationSettings
    out: Observations
    crafted: dict[str, np.ndarray] | None
    holdout: dict[str, np.ndarray] | None


def local_inputs(settings_file: Path) -> RunInputs:
    """The local range: a settings file, files beside it, records in ``out_dir``."""
    s = FederationSettings.model_validate_json(settings_file.read_text(encoding="utf-8"))
    crafted = read_arrays(Path(s.crafted_file)) if s.crafted_file else None
    holdout = read_arrays(Path(s.holdout_file)) if s.holdout_file else None
    return RunInputs(s, FolderObservations(Path(s.out_dir)), crafted, holdout)


def store_inputs(store_url: str, prefix: str) -> RunInputs:
    """The Kubernetes range: everything in the range's store under ``prefix``."""
    from leakrange.artifacts.open_store import open_store
    from leakrange.federation.observation_store import (
        CRAFTED,
        HOLDOUT,
        SETTINGS,
        StoreObservations,
    )

    out = StoreObservations(open_store(store_url), prefix)
    s = FederationSettings.model_validate(out.read_json(SETTINGS))
    crafted = out.read_arrays(CRAFTED) if s.crafted_round else None
    holdout = out.read_arrays(HOLDOUT) if s.eval_every else None
    return RunInputs(s, out, crafted, holdout)


def run_inputs(run_config: Mapping[str, object]) -> RunInputs:
    prefix = str(run_config.get("store-prefix", "") or "")
    if prefix:
        return store_inputs(str(run_config.get("store", "")), prefix)
    return local_inputs(Path(str(run_config["settings-file"])))


@app.main()
def main(grid: Grid, context: Context) -> None:
    from leakrange.models.zoo import build_model

    inputs = run_inputs(context.run_config)
    settings = inputs.settings
    torch.manual_seed(settings.seed)
    model = build_model(settings.model())
    initial = ArrayRecord(model.state_dict())
    strategy = RecordingFedAvg(settings, inputs.out, inputs.crafted)
    train_config = ConfigRecord({
        "lr": settings.lr, "batch-size": settings.batch_size,
        "local-epochs": settings.local_epochs, "seed": settings.seed,
        "model-spec": json.dumps(settings.model_spec),
    })
    result = strategy.start(grid=grid, initial_arrays=initial, num_rounds=settings.rounds,
                            timeout=settings.round_timeout, train_config=train_config,
                            evaluate_fn=holdout_evaluator(settings, inputs.out,
                                                          inputs.holdout))
    final = result.arrays.to_torch_state_dict()
    inputs.out.write_arrays(FINAL, {k: v.numpy() for k, v in final.items()})
