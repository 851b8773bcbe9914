"""``breaching`` side of the federated benchmark: run with the python of a separate virtualenv
that has ``torch==2.13.0``, ``torchvision`` built for it, ``breaching==0.1.2`` and
``safetensors`` (never the project's lock), plus ``foolbox==3.3.4`` for the sample PNGs, e.g.

    python3 -m venv .venv-breaching
    .venv-breaching/bin/pip install -c <(echo torch==2.13.0) torch==2.13.0 \
        torchvision breaching==0.1.2 safetensors foolbox==3.3.4
    .venv-breaching/bin/python tools/bench/breaching_peer.py IN_DIR OUT_DIR

``tools/bench/federated.py --peer-python PY`` writes IN_DIR: ``job.json`` (the case: model,
attack, iterations, threads), ``weights.safetensors`` (the model's parameters and buffers) and
``update.safetensors`` (the client's gradient, one tensor per parameter, the true labels for
reference only). The model classes are loaded from ``services/leakrange/fl_attacks/models.py``
by file path (that module imports torch only), so both sides attack the same network with the
same weights and the same observed gradient. OUT_DIR gets ``result.safetensors``
(reconstructions in the normalised input space, recovered labels) and ``result.json`` (CPU and
wall seconds of the attack alone, imports and setup excluded).

Only when the installed torchvision is a CUDA build on a CPU-only torch (PyPI's default wheel
next to ``torch==2.13.0+cpu``) its compiled ops cannot load; torchvision then fails at import
while registering fake kernels for ``nms``/``qnms``. Their schemas are declared here first so
the import succeeds; breaching's gradient attacks never call detection ops.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from safetensors.torch import load_file, save_file

MODELS = Path(__file__).resolve().parents[2] / "services" / "leakrange" / "fl_attacks" / "models.py"


def _declare_torchvision_ops() -> None:
    try:
        torch.ops.torchvision.nms  # noqa: B018  (raises when the ops are not loaded)
        return
    except (AttributeError, RuntimeError):
        pass
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        return
    lib = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    globals()["_TORCHVISION_LIB"] = lib  # keep the registration alive


def load_models() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fl_models", MODELS)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(job: dict[str, Any], weights: dict[str, torch.Tensor]) -> torch.nn.Module:
    models = load_models()
    if job["model"] == "dlg-lenet":
        model = models.dlg_lenet(num_classes=job["num_classes"])
    else:
        model = models.resnet20(num_classes=job["num_classes"])
    model.load_state_dict(weights, strict=True)
    return model.eval()


def attack_config(job: dict[str, Any]) -> Any:
    import breaching

    if job["attack"] == "idlg":
        # breaching's DLG setting (L-BFGS, step 1, unboxed) with iDLG's label rule first
        overrides = ["attack_type=optimization", "label_strategy=iDLG",
                     f"optim.max_iterations={job['iterations']}"]
        return breaching.get_attack_config("deepleakage", overrides=overrides)
    overrides = [f"optim.max_iterations={job['iterations']}",
                 f"restarts.num_trials={job.get('restarts', 1)}"]
    return breaching.get_attack_config("invertinggradients", overrides=overrides)


def main(argv: list[str]) -> int:
    in_dir, out_dir = Path(argv[1]), Path(argv[2])
    job = json.loads((in_dir / "job.json").read_text())
    torch.set_num_threads(int(job["threads"]))
    _declare_torchvision_ops()
    from breaching.attacks import prepare_attack
    from omegaconf import OmegaConf

    weights = load_file(str(in_dir / "weights.safetensors"))
    update = load_file(str(in_dir / "update.safetensors"))
    model = build(job, weights)
    names = [n for n, _ in model.named_parameters()]
    gradients = [update[f"grad.{n}"] for n in names]
    metadata = OmegaConf.create({
        "shape": list(job["input_shape"]), "mean": list(job["mean"]), "std": list(job["std"]),
        "modality": "vision", "classes": job["num_classes"], "num_data_points": job["batch"],
    })
    buffers = [b for b in model.buffers()]
    payload = [{"parameters": [p.detach() for p in model.parameters()],
                "buffers": buffers if buffers else None, "metadata": metadata}]
    shared = [{"gradients": gradients, "buffers": None,
               "metadata": {"num_data_points": job["batch"], "labels": None,
                            "local_hyperparams": None}}]
    cfg = attack_config(job)
    attacker = prepare_attack(model, torch.nn.CrossEntropyLoss(), cfg,
                              {"dtype": torch.float, "device": torch.device("cpu")})
    # torch.optim's first optimizer imports torch._dynamo (~3 CPU s): setup, not the attack
    importlib.import_module("torch._dynamo")
    torch.manual_seed(int(job["seed"]))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rec, _ = attacker.reconstruct(payload, shared, {}, dryrun=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({"inputs": rec["data"].detach().float().contiguous(),
               "labels": rec["labels"].detach().long().contiguous().view(-1)},
              str(out_dir / "result.safetensors"))
    (out_dir / "result.json").write_text(json.dumps({"cpu_s": cpu, "wall_s": wall}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
