"""ART side of the inversion benchmark: run with the python of a separate virtualenv that has
``torch==2.13.0`` and ``adversarial-robustness-toolbox`` (never the project's lock), e.g.

    python3 -m venv /tmp/art-venv && /tmp/art-venv/bin/pip install torch==2.13.0 \
        && /tmp/art-venv/bin/pip install adversarial-robustness-toolbox safetensors
    /tmp/art-venv/bin/python tools/bench/art_peer.py IN_DIR OUT_DIR

``tools/bench/inversion.py --peer-python PY`` writes IN_DIR (``job.json``, the targets' weights as
the range stores them: safetensors with the architecture in the header, and the adversary's
arrays as ``.npz``), runs this script, and scores OUT_DIR with the range's own evaluation.
Nothing here imports the range; files are read and written as JSON, npz (no pickles) and
safetensors only.

- ``MIFace`` (Fredrikson et al. 2015, ART's implementation) against the MNIST CNN's weights:
  one reconstruction per class, written as ``mnist.npz`` (reconstructions, labels).
- ``AttributeInferenceBlackBox`` (ART) against the Adult MLP used as a black box: its attack
  model is fitted on the adversary's own records and the model's predictions for them, then
  infers the secret one-hot attribute of the blanked audit records (``adult.npz``: guesses).
"""

from __future__ import annotations

import json
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

SPEC_KEY = "leakrange.model_spec"


def build(spec: dict[str, Any]) -> nn.Sequential:
    """The range's zoo architecture (``leakrange.models.zoo.build_model``), same layer names."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if spec["kind"] == "cnn":
        in_ch, height, width = spec["input_shape"]
        k = int(spec.get("kernel_size", 3))
        for i, out_ch in enumerate(spec.get("channels", [16, 32]), start=1):
            layers[f"conv{i}"] = nn.Conv2d(in_ch, out_ch, k, padding=k // 2)
            layers[f"relu{i}"] = nn.ReLU()
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            in_ch, height, width = out_ch, height // 2, width // 2
        layers["flatten"] = nn.Flatten()
        if spec.get("dropout", 0.0) > 0:
            layers["dropout"] = nn.Dropout(spec["dropout"])
        layers["out"] = nn.Linear(in_ch * height * width, spec["num_classes"])
        return nn.Sequential(layers)
    layers["flatten"] = nn.Flatten()
    width = int(np.prod(spec["input_shape"]))
    if spec["kind"] == "mlp":
        for i, units in enumerate(spec.get("hidden", [64, 64]), start=1):
            layers[f"fc{i}"] = nn.Linear(width, units)
            layers[f"relu{i}"] = nn.ReLU()
            if spec.get("dropout", 0.0) > 0:
                layers[f"dropout{i}"] = nn.Dropout(spec["dropout"])
            width = units
    layers["out"] = nn.Linear(width, spec["num_classes"])
    return nn.Sequential(layers)


def load_target(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """Weights and architecture from a range model file; the module outputs probabilities
    (MIFace's cost is ``1 - f_c(x)`` on the classifier's output)."""
    with safe_open(str(path), framework="pt") as f:
        spec = json.loads((f.metadata() or {})[SPEC_KEY])
    net = build(spec)
    net.load_state_dict(load_file(str(path)), strict=True)
    model = nn.Sequential(net, nn.Softmax(dim=1)).eval()
    return model, spec


def classifier(model: nn.Module, spec: dict[str, Any], clip: tuple[float, float] | None) -> Any:
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(),
                             input_shape=tuple(spec["input_shape"]),
                             nb_classes=int(spec["num_classes"]), clip_values=clip,
                             device_type="gpu" if torch.cuda.is_available() else "cpu")


def run_miface(job: dict[str, Any], src: Path, out: Path) -> dict[str, Any]:
    from art.attacks.inference.model_inversion import MIFace

    model, spec = load_target(src / "mnist.safetensors")
    arrays = np.load(src / "mnist.npz", allow_pickle=False)
    low, high = float(arrays["low"]), float(arrays["high"])
    est = classifier(model, spec, (low, high))
    p = job["miface"]
    classes = np.arange(int(spec["num_classes"]), dtype=np.int64)
    # ART's own initialisation when no x is given is zeros; "mean" starts from the mean of the
    # adversary's own images (as in ART's MNIST model-inversion notebook).
    x0 = (np.repeat(arrays["mean_image"][None], len(classes), axis=0)
          if p.get("init") == "mean" else None)
    attack = MIFace(est, max_iter=int(p["max_iter"]), window_length=int(p["window_length"]),
                    threshold=float(p["threshold"]), learning_rate=float(p["learning_rate"]),
                    batch_size=len(classes), verbose=False)
    start = time.perf_counter()
    recon = attack.infer(x0, y=classes)
    seconds = time.perf_counter() - start
    np.savez(out / "mnist.npz", reconstructions=recon.astype(np.float32), labels=classes)
    return {"seconds": seconds, "params": p, "queries": 0}


def run_attribute(job: dict[str, Any], src: Path, out: Path) -> dict[str, Any]:
    from art.attacks.inference.attribute_inference import AttributeInferenceBlackBox

    model, spec = load_target(src / "adult.safetensors")
    a = np.load(src / "adult.npz", allow_pickle=False)
    cols = np.asarray(a["hidden_columns"], np.int64)
    if not (np.diff(cols) == 1).all():
        raise SystemExit("art_peer: ART needs the one-hot attribute as contiguous columns")
    feature = slice(int(cols[0]), int(cols[-1]) + 1)
    est = classifier(model, spec, None)
    results: dict[str, Any] = {}
    guesses: dict[str, np.ndarray] = {}
    for model_type in job["attribute"]["attack_model_types"]:
        start = time.perf_counter()
        attack = AttributeInferenceBlackBox(est, attack_model_type=model_type,
                                            attack_feature=feature)
        pop_x, pop_y = a["population_x"], a["population_y"]
        attack.fit(pop_x, y=pop_y)  # queries the model once per own record
        audit_x = a["audit_x"]
        # ART's fit uses the model's predicted label as the feature; the same at inference.
        pred = est.predict(audit_x).argmax(axis=1).reshape(-1, 1).astype(np.float32)
        rest = np.delete(audit_x, cols, axis=1)
        inferred = attack.infer(rest, y=a["audit_y"], pred=pred)
        seconds = time.perf_counter() - start
        guesses[model_type] = np.asarray(inferred).reshape(len(audit_x), -1).argmax(
            axis=1).astype(np.int64)
        results[model_type] = {"seconds": seconds, "queries": int(len(pop_x) + len(audit_x))}
    save: Any = np.savez  # numpy's stub types ** arrays as its allow_pickle flag
    save(out / "adult.npz", **guesses)
    return results


def main() -> int:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    job = json.loads((src / "job.json").read_text())
    torch.manual_seed(int(job.get("seed", 0)))
    np.random.seed(int(job.get("seed", 0)))
    import art

    result: dict[str, Any] = {"art_version": art.__version__, "torch": torch.__version__}
    if (src / "mnist.safetensors").exists():
        result["miface"] = run_miface(job, src, out)
    if (src / "adult.safetensors").exists():
        result["attribute_black_box"] = run_attribute(job, src, out)
    (out / "result.json").write_text(json.dumps(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
