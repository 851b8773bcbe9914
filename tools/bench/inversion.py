"""Benchmark of the inversion family on its examples: per attack wall time, evaluation-classifier
accuracy and nearest-member distance ratio (reconstructions), attribute-inference accuracy vs
its no-model baseline. Runs each example with ``leakrange run`` (``--quick``: fewer steps and a
smaller audit) and prints a JSON object on the last line.

With ``--peer-python PY`` (the python of a separate virtualenv with ART, see
``tools/bench/art_peer.py``) the same targets are also attacked by ART's ``MIFace`` (the CNN's
weights) and ``AttributeInferenceBlackBox`` (the Adult MLP as a black box, same secret
attribute). The targets' weights leave the range's store as the safetensors files it keeps, the
adversary's arrays as ``.npz``; ART's outputs come back as ``.npz`` and are scored here with the
range's own evaluation (the same evaluation classifier, members / non-members, imputation
baseline), so the figures sit side by side under ``peer``.

Usage: python tools/bench/inversion.py [--quick] [--out DIR] [--peer-python PY]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("mnist-inversion", "adult-attribute-inference")
QUICK_PARAMS = {"class_inversion": {"restarts": 2, "steps": 150},
                "gmi": {"restarts": 4, "steps": 100, "generator_epochs": 10}}
# ART's MIFace as in its MNIST model-inversion notebook (start from the mean image, step 0.1,
# threshold 1.0: every iteration runs) but 3,000 iterations, not the notebook's 10,000: ART's
# class_gradient costs 30-70 ms per iteration for ten 28x28 images on a 2-core CPU (about 0.3 s
# on a loaded one). Quick mode: 1,000.
MIFACE = {"max_iter": 3_000, "window_length": 100, "threshold": 1.0, "learning_rate": 0.1,
          "init": "mean"}
QUICK_MIFACE_ITER = 1_000
ART_ATTACK_MODELS = ("nn", "rf")  # ART's default attack model, and a random forest
N_BOOTSTRAP = 200  # as the range's report


def quick(spec: dict) -> dict:
    spec["audit"] = {"records_per_side": 300}
    for adversary in spec["adversaries"]:
        for attack in adversary["attacks"]:
            attack.setdefault("params", {}).update(QUICK_PARAMS.get(attack["name"], {}))
    return spec


def run_example(name: str, out: Path, is_quick: bool) -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())
    if is_quick:
        spec = quick(spec)
    spec_path = out / f"{name}.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    leakrange = Path(sys.executable).parent / "leakrange"
    subprocess.run([str(leakrange), "run", str(spec_path), "--out", str(out / name),
                    "--store", str(out / "store"), "--data-dir", str(out / f"orch-{name}")],
                   check=True, stdout=subprocess.DEVNULL)
    report = json.loads((out / name / "report.json").read_text())
    rows = {}
    for a in report["attacks"]:
        f = a["findings"]
        row = {"status": a["status"], "risk": a["risk_level"], "seconds": round(a["seconds"], 1),
               "queries": a["queries_used"]}
        if "eval_accuracy" in f:
            row.update(eval_accuracy=f["eval_accuracy"]["value"], chance=f["chance"],
                       distance_ratio=f["distance_ratio"]["value"])
        if "model_adds" in f:
            row.update(accuracy_members=f["accuracy_members"]["value"],
                       accuracy_nonmembers=f["accuracy_nonmembers"]["value"],
                       baseline_members=f["baseline_members"]["value"],
                       model_adds=f["model_adds"]["value"])
        rows[a["attack"]] = row
    return {"overall": report["overall"]["risk_level"], "attacks": rows}


# ------------------------------------------------------------------------------ ART peer


def prepared(spec_path: Path, store_dir: Path) -> tuple[Any, Any, Any, Any]:
    """The exercise's spec, store, trained target and adversary view, as the range had them
    (the target from the store's training cache; the view is drawn from the spec's seed)."""
    from leakrange.artifacts import FolderStore
    from leakrange.orchestrator.dataset_cache import DatasetCache
    from leakrange.orchestrator.spec_loading import load_spec_file
    from leakrange.orchestrator.target_kinds.stored_model import load_model_target
    from leakrange.orchestrator.target_kinds.train import (
        TARGET_CACHE_PREFIX,
        TrainTarget,
        train_cache_key,
    )

    spec = load_spec_file(spec_path)
    train = vars(spec.target)["train"]  # the examples' target kind
    if not isinstance(train, TrainTarget):
        raise SystemExit(f"{spec_path}: the bench needs a 'train' target")
    store = FolderStore(store_dir)
    cached = store.get_manifest(f"{TARGET_CACHE_PREFIX}/{train_cache_key(train)}")
    target = replace(load_model_target(store, store.resolve(str(cached["model"]))),
                     secret_attribute=train.secret_attribute)
    view = target.adversary_view(spec, DatasetCache(store=store))
    return spec, store, target, view


def _arrays(bundle: Any) -> dict[str, np.ndarray]:
    from leakrange.common.tensors import from_proto

    return {k: from_proto(t, k) for k, t in bundle.tensors.items()}


def export_peer_inputs(out: Path, peer_in: Path, is_quick: bool) -> dict[str, Any]:
    """Targets' weights (the store's safetensors bytes) and the adversary's arrays (npz)."""
    peer_in.mkdir(parents=True, exist_ok=True)
    _, store, target, view = prepared(out / "mnist-inversion.yaml", out / "store")
    (peer_in / "mnist.safetensors").write_bytes(store.get_bytes(target.model_ref))
    audit, pop = _arrays(view.data.audit), _arrays(view.data.population)
    known = np.concatenate([audit["x"], pop["x"]]) if "x" in pop else audit["x"]
    np.savez(peer_in / "mnist.npz", low=np.float32(known.min()), high=np.float32(known.max()),
             mean_image=known.mean(axis=0).astype(np.float32))
    _, store, target, view = prepared(out / "adult-attribute-inference.yaml", out / "store")
    (peer_in / "adult.safetensors").write_bytes(store.get_bytes(target.model_ref))
    audit, pop = _arrays(view.data.audit), _arrays(view.data.population)
    np.savez(peer_in / "adult.npz", audit_x=audit["x"], audit_y=audit["y"],
             hidden_columns=audit["hidden_columns"], population_x=pop["x"],
             population_y=pop["y"])
    miface = {**MIFACE, "max_iter": QUICK_MIFACE_ITER if is_quick else MIFACE["max_iter"]}
    job = {"seed": 0, "miface": miface,
           "attribute": {"attack_model_types": list(ART_ATTACK_MODELS)}}
    (peer_in / "job.json").write_text(json.dumps(job))
    return job


def score_peer(out: Path, peer_out: Path, art: dict[str, Any]) -> dict[str, Any]:
    """ART's outputs scored by the range's scorers on the same ground truth."""
    from leakrange.common.attack_info import ATTRIBUTE, RECONSTRUCTION
    from leakrange.common.tensors import to_proto
    from leakrange.scoring import scorer_for
    from leakrange.scoring.attribute import attribute_estimates
    from leakrange.v1 import attack_pb2

    spec, store, _, view = prepared(out / "mnist-inversion.yaml", out / "store")
    mn = np.load(peer_out / "mnist.npz", allow_pickle=False)
    result = attack_pb2.AttackResult()
    result.reconstructions.CopyFrom(to_proto(np.ascontiguousarray(mn["reconstructions"])))
    result.reconstructed_labels.CopyFrom(to_proto(np.ascontiguousarray(mn["labels"])))
    truth = view.truth_for(RECONSTRUCTION)
    headline = dict(scorer_for(RECONSTRUCTION).accept(
        result, truth, store, n_bootstrap=N_BOOTSTRAP, seed=spec.seed).headline)
    mi = art["miface"]
    rows: dict[str, Any] = {"miface": {
        "threat_model": "white-box (weights), as the range's class_inversion",
        "seconds": round(mi["seconds"], 1), "params": mi["params"],
        "eval_accuracy": headline["eval_accuracy"].value, "chance": 1.0 / truth.num_classes,
        "distance_ratio": headline["distance_ratio"].value,
    }}
    spec, store, _, view = prepared(out / "adult-attribute-inference.yaml", out / "store")
    truth = view.truth_for(ATTRIBUTE)
    guesses = np.load(peer_out / "adult.npz", allow_pickle=False)
    for model_type, facts in art["attribute_black_box"].items():
        est = attribute_estimates(guesses[model_type], truth.values, truth.baseline,
                                  truth.is_member, N_BOOTSTRAP, spec.seed)
        rows[f"attribute_black_box_{model_type}"] = {
            "threat_model": "predicted label + true label per record, own records to fit",
            "seconds": round(facts["seconds"], 1), "queries": facts["queries"],
            "accuracy_members": est["accuracy_members"].value,
            "accuracy_nonmembers": est["accuracy_nonmembers"].value,
            "baseline_members": est["baseline_members"].value,
            "model_adds": est["model_adds"].value,
        }
    return {"tool": "adversarial-robustness-toolbox", "version": art["art_version"],
            "attacks": rows}


def run_peer(python: str, out: Path, is_quick: bool) -> dict[str, Any]:
    peer_in, peer_out = out / "art-in", out / "art-out"
    export_peer_inputs(out, peer_in, is_quick)
    start = time.perf_counter()
    subprocess.run([python, str(Path(__file__).with_name("art_peer.py")), str(peer_in),
                    str(peer_out)], check=True, stdout=subprocess.DEVNULL)
    art = json.loads((peer_out / "result.json").read_text())
    scored = score_peer(out, peer_out, art)
    scored["process_seconds"] = round(time.perf_counter() - start, 1)
    return scored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--peer-python", default=None,
                        help="python of a virtualenv with ART: also run tools/bench/art_peer.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        result = {name: run_example(name, out, args.quick) for name in EXAMPLES}
        doc: dict[str, Any] = {"bench": "inversion", "quick": args.quick, "examples": result}
        if args.peer_python:
            doc["peer"] = run_peer(args.peer_python, out, args.quick)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
