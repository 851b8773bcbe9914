"""Benchmark (not a test): every synthetic-family attack's risk, CI and wall time per generator.

On Adult (default 10,000 original, 2,000 control, 2,000 reference, 500 + 500 targets, split
seed 0; ``--original`` etc. to reduce). Each attack runs in-process on the same adversary view
the range hands the attack service, and is scored by the range's scorers; wall time is the
attack's plus its scoring. JSON on the last line.

``--peer-python PY`` (the python of a virtualenv with ``anonymeter``, see
``tools/bench/anonymeter_peer.py``) also runs Anonymeter's singling-out, linkability and
inference evaluators on the same three tables per generator with the same sizes; the figures
sit side by side under ``anonymeter`` with the wall-time ratios (Anonymeter / range).
``--argn-epochs`` bounds the deep generator's training (it early-stops anyway).
"""

from __future__ import annotations

import argparse
import json
import subprocess
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

SINGLING_OUT = 500
PARAMS: dict[str, dict[str, Any]] = {
    "singling-out-univariate": {"mode": "univariate", "n_attacks": SINGLING_OUT},
    "singling-out-multivariate": {"mode": "multivariate", "n_attacks": SINGLING_OUT,
                                  "n_cols": 3},
}


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


def generators(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    return {"copy-with-noise": {}, "dp-bayes": {"epsilon": 1.0},
            "tabular-argn": {"epochs": args.argn_epochs}}


def _runs() -> list[tuple[str, Any, dict[str, Any]]]:
    out: list[tuple[str, Any, dict[str, Any]]] = []
    for cls in SYNTHETIC_ATTACKS:
        if cls.name == "singling-out":
            out += [(k, cls, v) for k, v in PARAMS.items()]
        else:
            out.append((cls.name, cls, {}))
    return out


def export_tables(folder: Path, name: str, truth: Any) -> None:
    """The three tables as CSV with value names (what Anonymeter reads)."""
    import pandas as pd

    cols = truth.columns
    for part, table in (("original", truth.original), ("synthetic", truth.synthetic),
                        ("control", truth.control)):
        frame = pd.DataFrame({
            c: (np.asarray(cats)[table[:, j].astype(np.int64)] if cats is not None
                else table[:, j])
            for j, (c, cats) in enumerate(zip(cols.names, cols.categories, strict=True))})
        frame.to_csv(folder / f"{name}-{part}.csv", index=False)


def run(args: argparse.Namespace, store: FolderStore, peer_in: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    job: dict[str, Any] = {}
    for name, params in generators(args).items():
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
        for label, cls, attack_params in _runs():
            t0 = time.perf_counter()
            output = cls().run(_context(view.data), cls.parse_params(attack_params))
            scored = _score(output, release.truth)
            attacks[label] = {**scored, "wall_s": round(time.perf_counter() - t0, 2)}
        if peer_in is not None:
            t = release.truth
            export_tables(peer_in, name, t)
            job = {"generators": [*job.get("generators", []), name], "targets": args.targets,
                   "singling_out_attacks": SINGLING_OUT, "n_cols": 3,
                   "secret": t.columns.names[t.secret],
                   "link_a": [t.columns.names[j] for j in t.link_a],
                   "link_b": [t.columns.names[j] for j in t.link_b]}
            (peer_in / "job.json").write_text(json.dumps(job))
        out[name] = {"fit_and_prepare_s": round(fit_s, 2), "attacks": attacks,
                     "utility": {k: v for k, v in release.truth.utility.items()
                                 if k != "column_similarity"}}
    return out


def run_peer(python: str, peer_in: Path, ours: dict[str, Any]) -> dict[str, Any]:
    result_path = peer_in / "anonymeter.json"
    subprocess.run([python, str(Path(__file__).with_name("anonymeter_peer.py")), str(peer_in),
                    str(result_path)], check=True, stdout=subprocess.DEVNULL)
    peer = json.loads(result_path.read_text())
    for name, attacks in peer.items():
        for label, theirs in attacks.items():
            mine = ours[name]["attacks"].get(label, {})
            if "wall_s" in theirs and mine.get("wall_s"):
                theirs["speedup"] = round(theirs["wall_s"] / max(mine["wall_s"], 1e-3), 1)
            if "ci" in theirs and "ci" in mine:
                theirs["cis_overlap"] = bool(theirs["ci"][0] <= mine["ci"][1]
                                             and mine["ci"][0] <= theirs["ci"][1])
    return peer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--original", type=int, default=10_000)
    parser.add_argument("--control", type=int, default=2_000)
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--store", type=Path, default=Path("/tmp/leakrange-bench-synthetic"))
    parser.add_argument("--argn-epochs", type=float, default=20.0)
    parser.add_argument("--peer-python", default=None,
                        help="python of a virtualenv with anonymeter (anonymeter_peer.py)")
    args = parser.parse_args()
    np.seterr(all="ignore")
    peer_in = None
    if args.peer_python:
        peer_in = args.store / "anonymeter-in"
        peer_in.mkdir(parents=True, exist_ok=True)
    result = run(args, FolderStore(args.store), peer_in)
    doc: dict[str, Any] = {"bench": "synthetic", "original": args.original,
                           "control": args.control, "targets": args.targets,
                           "generators": result}
    if args.peer_python and peer_in is not None:
        doc["anonymeter"] = run_peer(args.peer_python, peer_in, result)
    print_json(doc)


if __name__ == "__main__":
    main()
