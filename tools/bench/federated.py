"""Benchmark of the federated gradient-inversion attacks (``leakrange.fl_attacks``) against
the ``breaching`` package on the same models, weights and observed gradients.

Setting (issue 12): the first CIFAR-10 sample PNGs shipped in ``foolbox`` (sorted by file
name; the label is the file name's last ``_`` field), normalised with the CIFAR-10 mean/std.

- ``idlg``: the DLG LeNet (sigmoid, weights U(-0.5, 0.5), seed 0), batch 1, iDLG (labels from
  the last layer, then L-BFGS on the inputs);
- ``ig1`` / ``ig4``: a CIFAR ResNet-20 at its default initialisation (seed 0), BatchNorm in
  eval mode, batch 1 (each image alone) and batch 4, Inverting Gradients (labels recovered).

Per image: PSNR and SSIM (``leakrange.metrics.image_metrics``, on [0, 1] pixels, after pairing
reconstructions with originals by least MSE), label correctness, CPU and wall seconds of the
attack alone. ``breaching`` runs in its own virtualenv (``--peer-python``; see
``tools/bench/breaching_peer.py``), one process per case, interleaved with ours so load
changes hit both. The machine's load (``os.getloadavg``) is printed before and after.

Then the range's own attack modules (``attacks/federated``, adapters over ``fl_attacks``)
through the range's scorer: the first ``--range-images`` digits (8x8, in [0, 1]) as one
client's batch, its FedSGD update of ``mlp-small`` at its seed-0 init (the range's client
training, ``local_sgd``), iDLG and DLG at batch 1, Inverting Gradients at batch 1 and batch N.

Then (unless ``--skip-federation``) the whole federated exercise: one federation on Flower's
deployment engine (``--clients`` SuperNodes, ``--rounds`` rounds, the ``mlp-small`` MLP on
digits) through the range's launcher, with where the seconds go: process start-up vs the run
(ServerApp and one ClientApp process per message, each importing torch).

    .venv/bin/python tools/bench/federated.py --peer-python .venv-breaching/bin/python \
        --threads 1 --skip-federation --range-images 0

Measured (issue 12's setting, 1 thread, the command above): iDLG 49.85 dB / SSIM 0.994 in
83.9 CPU s against breaching's 49.49 / 0.998 in 172.6 (2.06x; load 1.0-1.3, a slow hour of this
machine: 6.3 ms per evaluation against 3.1 ms an hour earlier), at most 3300 evaluations down to
1e-10 per image (the attack's default 1e-8 stops at 48-49 dB where breaching, which never stops
early, reaches 55-56); before the divergence safeguard of ``fl_attacks.optimization`` the hardest
image ended at 4.9 dB (33.3 now, breaching 36.3). IG batch 1 15.16 /
0.234 in 26.4 against 14.30 / 0.217 in 91.3 (3.5x); IG batch 4 13.59 / 0.205 in 12.4 against
13.71 / 0.179 in 21.9 (1.8x); labels 4/4 everywhere. The IG defaults here are 170 signed-Adam
steps of 0.8 (batch 1) and 150 of 0.5 (batch 4) against breaching's 600 and 300 of its 0.1:
with a third of the steps the paper's 0.1 leaves the search short (batch 1: 12.59 dB at 200
steps of 0.1, 14.42 at 0.5, 15.16 at 170 steps of 0.8; batch 4 at 150 steps: 13.59 at 0.5,
13.35 at 0.8). One iteration costs the same on both sides (the model's double backward), so
the remaining factor is the number of iterations; ``docs/federated.md`` has the table and the
per-iteration floor.

The PNGs are found with ``importlib.util.find_spec("foolbox")`` (nothing is imported) in this
interpreter, else in the peer's, else ``--data-dir``. Last line of stdout: the JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json

from leakrange.attacks.context import RunContext
from leakrange.attacks.federated import Dlg, Idlg, InvertingGradients
from leakrange.datasets import load_dataset
from leakrange.datasets.image_sources import CIFAR10_MEAN, CIFAR10_STD, cifar10_sample_arrays
from leakrange.federation.local_sgd import train_locally
from leakrange.fl_attacks import (
    DLGParams,
    IGParams,
    Knowledge,
    Reconstruction,
    fedsgd_update,
    idlg,
    inverting_gradients,
)
from leakrange.fl_attacks.models import dlg_lenet, resnet20
from leakrange.metrics.image_metrics import psnr, ssim
from leakrange.metrics.reconstruction_matching import match_by_mse
from leakrange.models import build_model as build_zoo_model
from leakrange.models import zoo_spec
from leakrange.orchestrator.target_kinds.federated_run import ClientBatches
from leakrange.scoring.record_reconstruction import match

PEER = Path(__file__).resolve().parent / "breaching_peer.py"


@dataclass(frozen=True)
class Case:
    name: str
    model: str
    attack: str
    batch: int


CASES = {"idlg": Case("idlg", "dlg-lenet", "idlg", 1),
         "ig1": Case("ig1", "resnet20", "ig", 1),
         "ig4": Case("ig4", "resnet20", "ig", 4)}


def find_data_dir(explicit: str | None, peer_python: str | None) -> Path:
    if explicit:
        return Path(explicit)
    import importlib.util

    spec = importlib.util.find_spec("foolbox")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "data"
    if peer_python:
        out = subprocess.run(
            [peer_python, "-c", "import importlib.util as u; "
             "print(list(u.find_spec('foolbox').submodule_search_locations)[0])"],
            capture_output=True, text=True, check=True)
        return Path(out.stdout.strip()) / "data"
    raise SystemExit("no foolbox found: pass --data-dir or --peer-python")


def load_images(data_dir: Path, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` CIFAR-10 samples, read as the ``cifar10-samples`` data set reads them."""
    x, y = cifar10_sample_arrays(data_dir, n)
    if len(x) < n:
        raise SystemExit(f"{data_dir}: fewer than {n} cifar10_*.png files")
    return torch.from_numpy(x), torch.from_numpy(y)


def normalise(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x - m) / s


def to_unit(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x * s + m).clamp(0, 1)


def build_model(name: str) -> torch.nn.Module:
    return (dlg_lenet(num_classes=10, seed=0) if name == "dlg-lenet"
            else resnet20(num_classes=10, seed=0)).eval()


def score(rec: torch.Tensor, rec_labels: torch.Tensor, img: torch.Tensor, y: torch.Tensor
          ) -> list[dict[str, Any]]:
    """Per true record: PSNR, SSIM of its paired reconstruction, whether the label is right."""
    unit = to_unit(rec).numpy()
    rows, cols = match_by_mse(unit, img.numpy())
    p = np.atleast_1d(np.asarray(psnr(unit[rows], img.numpy()[cols])))
    s = np.atleast_1d(np.asarray(ssim(unit[rows], img.numpy()[cols])))
    # labels are scored as a multiset too: a batch attack's label order is arbitrary
    multiset_ok = sorted(rec_labels.tolist()) == sorted(y.tolist())
    return [{"psnr": round(float(p[i]), 2), "ssim": round(float(s[i]), 4),
             "label_ok": bool(int(rec_labels[rows[i]]) == int(y[cols[i]])),
             "labels_multiset_ok": multiset_ok} for i in range(len(rows))]


def ig_iterations(case: Case, args: argparse.Namespace, peer: bool) -> int:
    """Inverting Gradients' iterations for a case: ``--ig4-iterations`` /
    ``--breaching-ig4-iterations`` for batch 4 when given, else the batch-1 values."""
    if peer:
        batch4 = args.breaching_ig4_iterations
        return batch4 if case.batch > 1 and batch4 else args.breaching_ig_iterations
    return args.ig4_iterations if case.batch > 1 and args.ig4_iterations else args.ig_iterations


def run_ours(case: Case, model: torch.nn.Module, x: torch.Tensor, upd: Any,
             args: argparse.Namespace) -> tuple[Reconstruction, float, float]:
    k = Knowledge(case.batch, (3, 32, 32), 10, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if case.attack == "idlg":
        rec = idlg(model, upd, k, DLGParams(iterations=args.idlg_evals, seed=args.seed,
                                            tolerance=args.idlg_tolerance))
    else:
        rec = inverting_gradients(model, upd, k, IGParams(
            iterations=ig_iterations(case, args, peer=False), restarts=args.restarts,
            seed=args.seed, tv_weight=args.tv_weight,
            lr=args.ig4_lr if case.batch > 1 and args.ig4_lr else args.ig_lr))
    return rec, time.process_time() - cpu0, time.perf_counter() - wall0


def run_peer(case: Case, model: torch.nn.Module, upd: Any, y: torch.Tensor,
             args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    with tempfile.TemporaryDirectory(prefix="fl-bench-") as tmp:
        in_dir, out_dir = Path(tmp) / "in", Path(tmp) / "out"
        in_dir.mkdir()
        iterations = (args.breaching_idlg_iterations if case.attack == "idlg"
                      else ig_iterations(case, args, peer=True))
        job = {"model": case.model, "attack": case.attack, "batch": case.batch,
               "iterations": iterations, "threads": args.threads, "seed": args.seed,
               "num_classes": 10, "input_shape": [3, 32, 32], "mean": CIFAR10_MEAN,
               "std": CIFAR10_STD, "restarts": args.restarts}
        (in_dir / "job.json").write_text(json.dumps(job))
        save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()},
                  str(in_dir / "weights.safetensors"))
        save_file({f"grad.{k}": v.contiguous() for k, v in upd.gradients.items()}
                  | {"labels": y.contiguous()}, str(in_dir / "update.safetensors"))
        proc = subprocess.run([args.peer_python, str(PEER), str(in_dir), str(out_dir)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"breaching peer failed:\n{proc.stderr[-3000:]}")
        res = load_file(str(out_dir / "result.safetensors"))
        times = json.loads((out_dir / "result.json").read_text())
    return res["inputs"], res["labels"], float(times["cpu_s"]), float(times["wall_s"])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"mean_psnr": round(float(np.mean([r["psnr"] for r in rows])), 2),
            "mean_ssim": round(float(np.mean([r["ssim"] for r in rows])), 4),
            "labels_correct": f"{sum(r['label_ok'] for r in rows)}/{len(rows)}",
            "cpu_s": round(float(sum(r["cpu_s"] for r in rows)), 1),
            "wall_s": round(float(sum(r["wall_s"] for r in rows)), 1)}


def _observation(spec: Any, x: np.ndarray, y: np.ndarray) -> RunContext:
    torch.manual_seed(0)
    model = build_zoo_model(spec)
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


def range_inversion(images: int, iterations: int) -> list[dict[str, Any]]:
    """The range's own attack service modules (adapters over ``fl_attacks``) on digits."""
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
            assert out.reconstructions is not None and out.reconstructed_labels is not None
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
    """Wall seconds of one whole Flower federation, split by the launcher's phases."""
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer-python", help="python of the breaching virtualenv (omit: ours only)")
    ap.add_argument("--data-dir")
    ap.add_argument("--cases", default="idlg,ig1,ig4", help="CIFAR-10 cases ('': none)")
    ap.add_argument("--images", type=int, default=4, help="first N sample PNGs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--idlg-evals", type=int, default=3300, help="ours: L-BFGS evaluations")
    ap.add_argument("--idlg-tolerance", type=float, default=1e-10,
                    help="ours: stop below this relative distance (the attack's default: 1e-8)")
    ap.add_argument("--breaching-idlg-iterations", type=int, default=1200,
                    help="breaching: L-BFGS steps (its DLG default 1200, up to 20 evals each)")
    ap.add_argument("--ig-iterations", type=int, default=170)
    ap.add_argument("--ig-lr", type=float, default=0.8,
                    help="ours: signed-Adam step (the paper: 0.1 over thousands of steps)")
    ap.add_argument("--ig4-lr", type=float, default=0.5, help="ours, batch 4 (0: --ig-lr)")
    ap.add_argument("--tv-weight", type=float, default=0.2)
    ap.add_argument("--breaching-ig-iterations", type=int, default=600)
    ap.add_argument("--ig4-iterations", type=int, default=150,
                    help="ours, batch 4 (0: --ig-iterations)")
    ap.add_argument("--breaching-ig4-iterations", type=int, default=300,
                    help="breaching, batch 4 (0: --breaching-ig-iterations)")
    ap.add_argument("--range-images", type=int, default=4,
                    help="the range's attack modules on the first N digits (0: skip)")
    ap.add_argument("--range-iterations", type=int, default=100)
    ap.add_argument("--clients", type=int, default=3, help="federation: SuperNodes")
    ap.add_argument("--rounds", type=int, default=2, help="federation: rounds")
    ap.add_argument("--skip-federation", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = [c for c in args.cases.split(",") if c]
    load_before = os.getloadavg()
    result: dict[str, Any] = {"bench": "federated", "threads": args.threads,
                              "load_before": [round(v, 2) for v in load_before], "cases": {}}
    if cases:
        data_dir = find_data_dir(args.data_dir, args.peer_python)
        images, labels = load_images(data_dir, args.images)
        result["images"] = [p.name for p in sorted(data_dir.glob("cifar10_*.png"))[:args.images]]
    for name in cases:
        case = CASES[name]
        model = build_model(case.model)
        groups = ([slice(i, i + 1) for i in range(len(images))] if case.batch == 1
                  else [slice(i, i + case.batch)
                        for i in range(0, len(images) - case.batch + 1, case.batch)])
        sides: dict[str, list[dict[str, Any]]] = {"ours": [], "breaching": []}
        for sl in groups:
            img, y = images[sl], labels[sl]
            upd = fedsgd_update(model, normalise(img), y)
            rec, cpu, wall = run_ours(case, model, normalise(img), upd, args)
            assert rec.labels is not None
            for r in score(rec.inputs, rec.labels, img, y):
                sides["ours"].append({**r, "cpu_s": cpu / len(y), "wall_s": wall / len(y),
                                      "iterations": rec.iterations})
                print(f"{name} ours      img {sl.start}: {r} cpu {cpu:.1f}s wall {wall:.1f}s "
                      f"iterations {rec.iterations}", flush=True)
            if args.peer_python:
                b_x, b_y, b_cpu, b_wall = run_peer(case, model, upd, y, args)
                for r in score(b_x, b_y, img, y):
                    sides["breaching"].append({**r, "cpu_s": b_cpu / len(y),
                                               "wall_s": b_wall / len(y)})
                    print(f"{name} breaching img {sl.start}: {r} cpu {b_cpu:.1f}s "
                          f"wall {b_wall:.1f}s", flush=True)
        entry: dict[str, Any] = {"batch": case.batch, "model": case.model,
                                 "ours": summarise(sides["ours"]), "per_image": sides}
        if sides["breaching"]:
            entry["breaching"] = summarise(sides["breaching"])
            entry["cpu_ratio_breaching_over_ours"] = round(
                entry["breaching"]["cpu_s"] / max(entry["ours"]["cpu_s"], 1e-9), 2)
            entry["wall_ratio_breaching_over_ours"] = round(
                entry["breaching"]["wall_s"] / max(entry["ours"]["wall_s"], 1e-9), 2)
        entry["settings"] = ({"ours_evals_max": args.idlg_evals, "ours_tolerance":
                              args.idlg_tolerance, "breaching_lbfgs_steps":
                              args.breaching_idlg_iterations} if case.attack == "idlg" else
                             {"ours_iterations": ig_iterations(case, args, peer=False),
                              "breaching_iterations": ig_iterations(case, args, peer=True),
                              "ours_lr": args.ig4_lr if case.batch > 1 and args.ig4_lr
                              else args.ig_lr,
                              "restarts": args.restarts,
                              "tv_weight": args.tv_weight})
        result["cases"][name] = entry
    if args.range_images:
        rows = range_inversion(args.range_images, args.range_iterations)
        summary: dict[str, Any] = {}
        for row in rows:
            key = f"{row['attack']}/batch{row['batch']}"
            acc = summary.setdefault(key, {"psnr_db": [], "labels_right": 0, "seconds": 0.0})
            acc["psnr_db"].append(row["psnr_db"])
            acc["labels_right"] += int(row["label_right"])
            acc["seconds"] += row["seconds_per_image"]
        for acc in summary.values():
            acc["mean_psnr_db"] = round(float(np.mean(acc.pop("psnr_db"))), 2)
            acc["seconds"] = round(acc["seconds"], 1)
        result["range_attacks"] = {"dataset": "digits", "model": "mlp-small", "rows": rows,
                                   "summary": summary}
    if not args.skip_federation:
        result["federation"] = federation(args.clients, args.rounds)
    result["load_after"] = [round(v, 2) for v in os.getloadavg()]
    print_json(result)


if __name__ == "__main__":
    main()
