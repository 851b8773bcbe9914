"""Privacy-enhancing technologies: per recipe variant (DP-SGD at several epsilons vs plain),
training time and its ratio to plain training, test accuracy, a loss attack's AUC and TPR at
1 % FPR on a balanced audit set, and the DP audit's empirical epsilon lower bound. JSON on the
last line. ``--quick`` for a smaller run."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.nn import functional as F

from leakrange.datasets import load_dataset
from leakrange.metrics import compute_mia_metrics
from leakrange.metrics.dp_audit import one_run_bound, threshold_bound
from leakrange.models import TrainRecipe, zoo_spec
from leakrange.models.trainer import fit, training_tensors


def run_variant(name: str, recipe: TrainRecipe, x: np.ndarray, y: np.ndarray, n: int
                ) -> dict[str, object]:
    spec = zoo_spec("mlp", list(x.shape[1:]), int(y.max()) + 1)
    dev = torch.device("cpu")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    members, nonmembers = order[:n], order[n : 2 * n]
    xt, yt = training_tensors(spec, x[members], y[members], dev)
    start = time.perf_counter()
    fitted = fit(spec, recipe, xt, yt, dev)
    seconds = time.perf_counter() - start
    rows = np.concatenate([members, nonmembers])
    with torch.no_grad():
        logits = fitted.model(torch.as_tensor(x[rows], dtype=torch.float32))
        loss = F.cross_entropy(logits, torch.as_tensor(y[rows]), reduction="none").numpy()
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    m = compute_mia_metrics(-loss, member, n_bootstrap=200, seed=0)
    test_acc = float((logits[n:].argmax(1).numpy() == y[nonmembers]).mean())
    dp = recipe.dp_sgd
    delta = dp.delta if dp else 1e-5
    return {
        "variant": name, "train_seconds": round(seconds, 2), "test_accuracy": test_acc,
        "accountant_epsilon": fitted.accounting.epsilon if fitted.accounting else None,
        "loss_auc": m.auc.value, "loss_tpr_at_1%_fpr": m.tpr_at_fpr["1%"].value,
        "audit_threshold_eps_lb": threshold_bound(-loss, member, delta=delta).epsilon_lower,
        "audit_one_run_eps_lb": one_run_bound(-loss, member, delta=delta).epsilon_lower,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    data = load_dataset("adult")
    n, epochs = (1000, 3) if args.quick else (2500, 10)
    base = {"epochs": epochs, "batch_size": 128, "lr": 0.005}
    variants = {"none": TrainRecipe(**base)}
    for eps in (1.0, 4.0, 8.0):
        variants[f"dp_eps_{eps:g}"] = TrainRecipe(**base, privacy={"dp_sgd": {"epsilon": eps}})
    results = [run_variant(k, r, data.x, data.y, n) for k, r in variants.items()]
    plain = float(results[0]["train_seconds"])  # type: ignore[arg-type]
    for r in results:
        r["overhead_vs_plain"] = round(float(r["train_seconds"]) / plain, 2)  # type: ignore[arg-type]
    print(json.dumps({"bench": "pet", "members": n, "epochs": epochs, "variants": results}))


if __name__ == "__main__":
    main()
