"""The range's Flower ClientApp: trains its node's partition with the target recipe.

Each SuperNode is started with ``--node-config`` naming its partition file (x, y as
safetensors; written by the range, readable by that node only), its partition id and, for the
one node the adversary controls, ``observe-dir``: where it keeps the global models it receives
(exactly what a curious client sees; it never receives other clients' updates).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from leakrange.federation.local_sgd import train_locally
from leakrange.federation.observation_files import GLOBAL, read_arrays, round_dir, write_arrays

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    from leakrange.models.zoo import build_model, validate_spec

    config = msg.content["config"]
    node = context.node_config
    data = read_arrays(Path(str(node["partition-file"])))
    client = int(node["partition-id"])
    server_round = int(config["server-round"])
    received = msg.content["arrays"].to_torch_state_dict()
    observe = str(node.get("observe-dir", ""))
    if observe:
        write_arrays(round_dir(Path(observe), server_round) / GLOBAL,
                     {k: v.numpy() for k, v in received.items()})
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(validate_spec(json.loads(str(config["model-spec"]))))
    model.load_state_dict(received)
    loss = train_locally(
        model, data["x"], data["y"], lr=float(config["lr"]),
        batch_size=int(config["batch-size"]), local_epochs=int(config["local-epochs"]),
        seed=int(config["seed"]), server_round=server_round, client=client,
    )
    metrics = MetricRecord({"num-examples": len(data["y"]), "train-loss": loss,
                            "partition-id": client})
    content = RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics})
    return Message(content=content, reply_to=msg)
