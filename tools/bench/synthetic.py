"""Benchmark (not a test): every synthetic-family attack's risk, CI and wall time per generator.

On Adult (default 10,000 original, 2,000 control, 2,000 reference, 500 + 500 targets, split
seed 0; ``--original`` etc. to reduce). Each attack runs in-process on the same adversary view
the range hands the attack service, and is scored by the range's scorers; wall time is the
attack's plus its scoring. JSON on the last line. The side-by-side run of the ``anonymeter``
package (own virtualenv: it pins an old numpy) is not part of this script yet.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json

from leakrange.artifacts import FolderStore
from leakrange.attacks.context import RunContext
from leakrange.attacks.servicer import _synthetic_extras
from leakrange.attacks.synthetic import SYNTHETIC_ATTACKS
from leakrange.common.tensors import from_proto
from leakrange.metrics import compute_mia_metrics
from leakrange.orchestrator.target_kinds.base import PrepareContext
from leakrange.orchestrator.target_kinds.synthetic import (
    GeneratorSpec,
    SyntheticKind,
    SyntheticSpec,
)
from leakrange.scoring.synthetic_risk import evaluation, risk_estimates

GENERATORS = {"copy-with-noise": {}, "dp-bayes": {"epsilon": 1.0}}
PARAMS: dict[str, dict[str, Any]] = {"singling-out": {"mode": "multivariate", "n_attacks": 500}}


def _context(data: Any) -> RunContext:
    return RunContext("bench", None, None, None,  # type: ignore[arg-type] - unused here
                      from_proto(data.audit.tensors["x"]), from_proto(data.audit.tensors["y"]),
                      from_proto(data.population.tensors["x"]), extras=_synthetic_extras(data),
                      cores=2)


def _score(output: Any, truth: Any) -> dict[str, Any]:
    if output.scores is not None:
        auc = compute_mia_metrics(output.scores, truth.is_member, n_bootstrap=200).auc
        return {"auc": auc.value, "ci": [auc.ci_low, auc.ci_high]}
    est = risk_estimates(evaluation(list(output.outputs)).hits(output.outputs, truth, 0))
    return {"risk": est["risk"].value, "ci": [est["risk"].ci_low, est["risk"].ci_high],
            "attack_rate": est["attack_rate"].value, "control_rate": est["control_rate"].value,
            "baseline_rate": est["baseline_rate"].value}


def run(args: argparse.Namespace, store: FolderStore) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, params in GENERATORS.items():
        spec = SyntheticSpec(dataset="adult", original=args.original, control=args.control,
                             reference=args.control, targets=args.targets, split_seed=0,
                             secret="income",
                             generator=GeneratorSpec(name=name, params=params))
        t0 = time.perf_counter()
        ctx = PrepareContext(store=store, datasets=None)  # type: ignore[arg-type] - unused
        release = SyntheticKind.prepare(spec, ctx)
        fit_s = time.perf_counter() - t0
        view = release.adversary_view(None, None)  # type: ignore[arg-type]
        attacks: dict[str, Any] = {}
        for cls in SYNTHETIC_ATTACKS:
            t0 = time.perf_counter()
            params_ = cls.parse_params(PARAMS.get(cls.name, {}))
            output = cls().run(_context(view.data), params_)
            scored = _score(output, release.truth)
            attacks[cls.name] = {**scored, "wall_s": round(time.perf_counter() - t0, 2)}
        out[name] = {"fit_and_prepare_s": round(fit_s, 2), "attacks": attacks,
                     "utility": {k: v for k, v in release.truth.utility.items()
                                 if k != "column_similarity"}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--original", type=int, default=10_000)
    parser.add_argument("--control", type=int, default=2_000)
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--store", type=Path, default=Path("/tmp/leakrange-bench-synthetic"))
    args = parser.parse_args()
    np.seterr(all="ignore")
    result = run(args, FolderStore(args.store))
    print_json({"bench": "synthetic", "original": args.original, "control": args.control,
                "targets": args.targets, "generators": result})


if __name__ == "__main__":
    main()
