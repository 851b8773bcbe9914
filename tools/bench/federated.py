"""Benchmark (not a test): gradient inversion quality and speed, and where the seconds of one
Flower federation go.

(a) Inversion: the first ``--images`` digits (8x8, in [0, 1]) as the batch of one client; a
    curious server attacks its FedSGD update (the range's own client training, ``local_sgd``)
    of the ``mlp-small`` MLP at its seed-0 init with iDLG (L-BFGS) and DLG at batch 1, and
    Inverting Gradients at batch 1 and batch ``--images``; every reconstruction is scored by the
    range's scorer (Hungarian matching, PSNR, SSIM, labels). Per image: PSNR, SSIM, label right,
    wall seconds.
(b) One federation on Flower's deployment engine (``--clients`` SuperNodes, ``--rounds``
    rounds) through the range's launcher: process start-up vs the run (ServerApp and one
    ClientApp process per message, each importing torch).

Not yet: the CIFAR-10 sample images and the side-by-side run of the ``breaching`` package (it
needs torchvision; own virtualenv). JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json

from leakrange.attacks.context import RunContext
from leakrange.attacks.federated import Dlg, Idlg, InvertingGradients
from leakrange.common.tensors import to_proto
from leakrange.datasets import load_dataset
from leakrange.federation.local_sgd import train_locally
from leakrange.models import build_model, zoo_spec
from leakrange.orchestrator.target_kinds.federated_run import ClientBatches
from leakrange.scoring.record_reconstruction import match
from leakrange.v1 import attack_pb2


def _observation(spec: Any, x: np.ndarray, y: np.ndarray) -> RunContext:
    torch.manual_seed(0)
    model = build_model(spec)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    train_locally(model, x, y, lr=0.1, batch_size=len(x), local_epochs=1, seed=0,
                  server_round=1, client=0)
    tensors = {f"fl.global.r1.{k}": v for k, v in state.items()}
    tensors.update({f"fl.update.r1.c0.{k}": v.detach().numpy()
                    for k, v in model.state_dict().items()})
    tensors["fl.records.r1"] = np.array([len(x)], np.int64)
    recipe = {"role": "honest_server", "clients": 1, "rounds": 1, "local_epochs": 1,
              "batch_size": len(x), "lr": 0.1, "records_per_client": len(x)}
    return RunContext(run_id="bench", target_client=None, store=None,  # type: ignore[arg-type]
                      threat_model=None, audit_x=np.zeros(0, np.float32),  # type: ignore[arg-type]
                      audit_y=np.zeros(0, np.int64), model_spec_json=spec.model_dump_json(),
                      recipe_json=json.dumps(recipe), extras={"federated": tensors})


def inversion(images: int, iterations: int) -> list[dict[str, Any]]:
    data = load_dataset("digits")
    spec = zoo_spec("mlp-small", data.input_shape, data.num_classes)
    rows: list[dict[str, Any]] = []
    settings = [(Idlg, {"iterations": iterations, "restarts": 1}, 1),
                (Dlg, {"iterations": iterations, "restarts": 1}, 1),
                (InvertingGradients, {"iterations": 4 * iterations, "restarts": 2}, 1),
                (InvertingGradients, {"iterations": 4 * iterations, "restarts": 2}, images)]
    if images == 1:
        settings = settings[:-1]
    for cls, params, batch in settings:
        for start in range(0, images, batch):
            x, y = data.x[start:start + batch], data.y[start:start + batch]
            ctx = _observation(spec, x, y)
            t0 = time.perf_counter()
            out = cls().run(ctx, cls.parse_params(params))
            seconds = time.perf_counter() - t0
            truth = ClientBatches([x], [y], data.num_classes, tuple(data.input_shape), True)
            result = attack_pb2.AttackResult()
            result.reconstructions.CopyFrom(to_proto(out.reconstructions))
            result.reconstructed_labels.CopyFrom(to_proto(out.reconstructed_labels))
            for key, value in out.outputs.items():
                result.outputs[key].CopyFrom(to_proto(value))
            arrays = match(out.reconstructions, out.reconstructed_labels, out.outputs["round"],
                           out.outputs["client"], truth)
            for i in range(len(arrays["psnr"])):
                rows.append({"attack": cls.name, "batch": batch, "image": start + i,
                             "psnr_db": round(float(arrays["psnr"][i]), 2),
                             "ssim": round(float(arrays["ssim"][i]), 4),
                             "label_right": bool(arrays["label_ok"][i]),
                             "seconds_per_image": round(seconds / len(x), 2)})
    return rows


def federation(clients: int, rounds: int) -> dict[str, Any]:
    from leakrange.federation.flower_env import find_flower_env
    from leakrange.federation.launcher import Federation
    from leakrange.federation.settings import FederationSettings

    data = load_dataset("digits")
    spec = zoo_spec("mlp-small", data.input_shape, data.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = FederationSettings(
            clients=clients, rounds=rounds, local_epochs=1, batch_size=8, lr=0.1, seed=0,
            model_spec=json.loads(spec.model_dump_json()), out_dir=str(work / "out"),
            record_updates=True)
        parts = [(data.x[k * 16:(k + 1) * 16], data.y[k * 16:(k + 1) * 16])
                 for k in range(clients)]
        outcome = Federation(find_flower_env(), work, settings, parts).run(timeout=1800)
    return {"clients": clients, "rounds": rounds, "seconds": round(outcome.seconds, 1),
            **{f"{k}_seconds": round(v, 1) for k, v in outcome.phases.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-federation", action="store_true")
    args = parser.parse_args()
    rows = inversion(args.images, args.iterations)
    summary: dict[str, Any] = {}
    for row in rows:
        key = f"{row['attack']}/batch{row['batch']}"
        s = summary.setdefault(key, {"psnr_db": [], "labels_right": 0, "seconds": 0.0})
        s["psnr_db"].append(row["psnr_db"])
        s["labels_right"] += int(row["label_right"])
        s["seconds"] += row["seconds_per_image"]
    for s in summary.values():
        s["mean_psnr_db"] = round(float(np.mean(s.pop("psnr_db"))), 2)
        s["seconds"] = round(s["seconds"], 1)
    doc: dict[str, Any] = {"bench": "federated", "dataset": "digits", "model": "mlp-small",
                           "inversion": rows, "summary": summary}
    if not args.skip_federation:
        doc["federation"] = federation(args.clients, args.rounds)
    print_json(doc)


if __name__ == "__main__":
    main()
