"""Benchmark: membership-inference attacks on two fixed targets, through the real services.

Targets (seeds fixed, recipes exactly as below):

- ``adult_mlp``: Adult one-hot + standardised; a population of 20,000 rows sampled with seed 0;
  MLP in-64-64-2 (ReLU), Adam lr 1e-3, batch 128, 30 epochs on 5,000 member rows; 5,000 other
  rows are non-members; the remaining 10,000 rows are the adversary's data. Audit: all 5,000
  members + 5,000 non-members. Population (adversary data): the 10,000 adversary rows.
- ``mnist_cnn``: mnist5k in [0, 1]; CNN conv16-conv32-fc10 (3x3, ReLU, maxpool), Adam lr 1e-3,
  batch 64, 30 epochs (``--quick``: 5) on 2,500 members; the other 2,500 are non-members.
  MNIST has no separate adversary data, so the 5k are split in two halves, each with 1,250
  members and 1,250 non-members: the audit is one half; online attacks get the other half as
  population, so a reference model's pool (population + audit) is the whole 5k and each record
  is IN for half of the reference models (LiRA's online setting); offline attacks and the
  population attack get only the other half's 1,250 non-members (no record a reference model
  trains on is ever audited).

Every attack runs in a fresh child process (``--one TARGET ATTACK``) that starts the Target
service (probabilities, no budget) and the MIA Attack service in-process on loopback (port 0)
and sends one ``Attack.Run`` through the generated stub. The target model is trained once by the
parent and shared through a temporary folder store; each child gets its own attack store, so no
reference outputs are ever reused from a cache. ``seconds`` is the wall time of the Run call
(reference training + target queries + scoring); ``peak_rss_mb`` the child's own peak RSS.

Full run: loss, population, rmia_offline_1/4, lira_online_8/16/64 and lira_offline_8/16/64 on
both targets, plus ``reference_training.measure`` (16/64/256 Adult MLPs and 16/64 MNIST CNNs,
10 epochs). ``--attacks lira_online_1024_1epoch --targets adult_mlp``: the memory check. ``--quick``
(under 5 minutes on 2 cores): MNIST trained 5 epochs (references too: the recipe is known);
loss, population, rmia_offline_1 and lira_online_2 per target; reference training 1 epoch.
Progress lines go to stdout as each attack finishes, so a run cut short still shows its numbers.

Prints one JSON object on its last line:

    {"targets": {"adult_mlp": {ATTACK: {"auc", "tpr_at_1pct_fpr", "tpr_at_0_1pct_fpr",
                                        "seconds", "peak_rss_mb", "references", ...}},
                 "mnist_cnn": {...}},
     "reference_training": {"adult_mlp_16": {"sequential_s", "chosen_s", "speedup",
                                             "achieved_fraction", ...}, ..., "mnist_cnn_64"},
     "config": {...}}
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import peak_rss_mb, print_json
from reference_training import measure as measure_reference_training

from leakrange.artifacts import MEDIA_MODEL, FolderStore
from leakrange.attacks.service import build_attack_server
from leakrange.common.client import open_channel
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import from_proto, to_proto
from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.datasets import Dataset, load_dataset, make_split
from leakrange.metrics import compute_mia_metrics
from leakrange.models import TrainRecipe, model_to_bytes, spec_from_name_or_json, train_model
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.v1 import attack_pb2, attack_pb2_grpc

TARGET_NAMES = ("adult_mlp", "mnist_cnn")


@dataclass(frozen=True)
class AttackCase:
    """One benchmark row: an attack, its parameters and which adversary data it gets."""

    attack: str
    params: dict[str, Any]
    references: int
    population: str  # "none" | "offline" (non-members only) | "online" (members too)


def case(attack: str, references: int = 0, online: bool = False) -> AttackCase:
    if attack == "loss":
        return AttackCase("loss", {}, 0, "none")
    if attack == "population":
        return AttackCase("population", {}, 0, "offline")
    params = {"reference_models": references, "online": online}
    return AttackCase(attack, params, references, "online" if online else "offline")


FULL_CASES: dict[str, AttackCase] = {
    "loss": case("loss"),
    "population": case("population"),
    "rmia_offline_1": case("rmia", 1),
    "rmia_offline_4": case("rmia", 4),
    "lira_online_8": case("lira", 8, online=True),
    "lira_online_16": case("lira", 16, online=True),
    "lira_offline_8": case("lira", 8),
    "lira_offline_16": case("lira", 16),
    "lira_online_64": case("lira", 64, online=True),
    "lira_offline_64": case("lira", 64),
}
QUICK_CASES: dict[str, tuple[str, ...]] = {
    "adult_mlp": ("loss", "population", "rmia_offline_1", "lira_online_2"),
    "mnist_cnn": ("loss", "population", "rmia_offline_1", "lira_online_2"),
}
EXTRA_CASES: dict[str, AttackCase] = {
    "lira_online_2": case("lira", 2, online=True),
    # Memory check: 1,024 references for 1 epoch (peak RSS flat in the number of references).
    "lira_online_1024_1epoch": AttackCase("lira", {"reference_models": 1024, "online": True,
                                                   "epochs": 1}, 1024, "online"),
    # LiRA-online-16 with float32 references whatever the CPU: what ``precision: auto`` is
    # compared against (same seeds, so the same masks, initialisations and batch orders).
    "lira_online_16_float32": AttackCase("lira", {"reference_models": 16, "online": True,
                                                  "precision": "float32"}, 16, "online"),
}


def attack_case(key: str) -> AttackCase:
    return {**FULL_CASES, **EXTRA_CASES}[key]


@dataclass(frozen=True)
class BenchTarget:
    """A target's data, recipe, audit set and adversary data (all deterministic)."""

    name: str
    data: Dataset
    model: str
    recipe: TrainRecipe
    members: np.ndarray  # rows the target trains on
    audit_rows: np.ndarray
    audit_member: np.ndarray  # ground truth, held by the benchmark (the range), never sent
    offline_rows: np.ndarray  # adversary data without members
    online_rows: np.ndarray  # adversary data for the online setting


def bench_target(name: str, quick: bool) -> BenchTarget:
    rng = np.random.default_rng(0)
    if name == "adult_mlp":
        data = load_dataset("adult")
        split = make_split(len(data.y), members=5000, nonmembers=5000, seed=0, population=20000)
        recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=30, seed=0)
        rows = np.concatenate([split.members, split.nonmembers])
        member = np.concatenate([np.ones(5000, bool), np.zeros(5000, bool)])
        order = rng.permutation(len(rows))
        return BenchTarget(name, data, "mlp", recipe, split.members, rows[order], member[order],
                           split.adversary, split.adversary)
    if name == "mnist_cnn":
        data = load_dataset("mnist5k")
        split = make_split(len(data.y), members=2500, nonmembers=2500, seed=0)
        recipe = TrainRecipe(optimizer="adam", lr=1e-3, batch_size=64, epochs=5 if quick else 30,
                             seed=0)
        mem, non = rng.permutation(split.members), rng.permutation(split.nonmembers)
        rows = np.concatenate([mem[:1250], non[:1250]])
        member = np.concatenate([np.ones(1250, bool), np.zeros(1250, bool)])
        order = rng.permutation(len(rows))
        return BenchTarget(name, data, "cnn", recipe, split.members, rows[order], member[order],
                           non[1250:], np.concatenate([mem[1250:], non[1250:]]))
    raise SystemExit(f"unknown target {name}; known: {', '.join(TARGET_NAMES)}")


# -- parent ------------------------------------------------------------------------------------

def train_target(target: BenchTarget, store: FolderStore) -> dict[str, Any]:
    data = target.data
    spec = spec_from_name_or_json(target.model, list(data.input_shape), data.num_classes)
    start = time.perf_counter()
    net = train_model(spec, target.recipe, data.x[target.members], data.y[target.members])
    seconds = time.perf_counter() - start
    blob = model_to_bytes(net, spec, {"dataset": data.name,
                                      "class_names": "\x1f".join(data.class_names)})
    ref = store.put_bytes(blob, MEDIA_MODEL)
    return {"model_ref": ref.uri, "spec_json": spec.model_dump_json(),
            "recipe_json": target.recipe.model_dump_json(), "train_seconds": round(seconds, 2)}


def run_child(target: str, key: str, workdir: Path, quick: bool, threads: int) -> dict[str, Any]:
    """``threads``: the cores the attack service is given (its reference workers use them)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", target, key,
           "--workdir", str(workdir), "--threads", str(threads), *(["--quick"] if quick else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    targets = args.targets or list(TARGET_NAMES)
    results: dict[str, Any] = {"targets": {}, "reference_training": {}}
    with tempfile.TemporaryDirectory(prefix="bench-mia-") as tmp:
        workdir = Path(tmp)
        store = FolderStore(workdir / "range")
        trained: dict[str, Any] = {}
        for name in targets:
            info = train_target(bench_target(name, args.quick), store)
            trained[name] = info
            (workdir / f"{name}.json").write_text(json.dumps(info))
            print(f"{name}: target trained in {info['train_seconds']} s", flush=True)
        for name in targets:
            keys = QUICK_CASES[name] if args.quick else tuple(FULL_CASES)
            out: dict[str, Any] = {}
            for key in args.attacks or keys:
                out[key] = run_child(name, key, workdir, args.quick, args.threads)
                print(f"{name} {key}: {json.dumps(out[key])}", flush=True)
            results["targets"][name] = out
    if not args.skip_reference_training:
        epochs = 1 if args.quick else 10
        runs = [("mlp", 16), ("mlp", 64), ("mlp", 256), ("cnn", 16), ("cnn", 64)]
        for kind, n in runs[:2] + runs[3:4] if args.quick else runs:
            key = f"{'adult_mlp' if kind == 'mlp' else 'mnist_cnn'}_{n}"
            results["reference_training"][key] = measure_reference_training(
                kind, n, epochs, cores=args.threads)
            print(f"reference training {key}: {results['reference_training'][key]}", flush=True)
    results["config"] = {
        "quick": args.quick, "cores": args.threads,
        "target_train_seconds": {k: v["train_seconds"] for k, v in trained.items()},
        "mnist_epochs": 5 if args.quick else 30,
        "attacks": {k: {"attack": c.attack, "params": c.params, "population": c.population}
                    for k, c in {**FULL_CASES, **EXTRA_CASES}.items()},
        "seconds": "Attack.Run wall time incl. reference training; child process per attack",
    }
    return results


# -- child -------------------------------------------------------------------------------------

def run_one(target_name: str, key: str, workdir: Path, quick: bool,
            cores: int) -> dict[str, Any]:
    target = bench_target(target_name, quick)
    info = json.loads((workdir / f"{target_name}.json").read_text())
    spec = attack_case(key)
    data = target.data
    audit_x, audit_y = data.x[target.audit_rows], data.y[target.audit_rows]
    adversary = {"none": None, "offline": target.offline_rows,
                 "online": target.online_rows}[spec.population]

    range_store = FolderStore(workdir / "range")
    attack_store = FolderStore(workdir / f"attack-{target_name}-{key}")
    options = ServerOptions(port=0, grace_seconds=0.0)
    target_server = build_target_server(
        range_store, TargetSettings(info["model_ref"], AccessPolicy()), options
    ).start()
    attack_server = build_attack_server(attack_store, "mia", options, cores=cores).start()
    try:
        request_data = attack_pb2.AdversaryData(
            dataset=data.name, model_spec_json=info["spec_json"], recipe_json=info["recipe_json"]
        )
        request_data.audit.tensors["x"].CopyFrom(to_proto(audit_x))
        request_data.audit.tensors["y"].CopyFrom(to_proto(audit_y))
        if adversary is not None:
            request_data.population.tensors["x"].CopyFrom(to_proto(data.x[adversary]))
            request_data.population.tensors["y"].CopyFrom(to_proto(data.y[adversary]))
        threat = ThreatModel(access=Access(output="probabilities"), knowledge=Knowledge())
        params = dict(spec.params)
        if spec.references:
            # The recipe is known (Knowledge()), training-set size included: each reference
            # model trains on as many records as the target did.
            params["train_size"] = len(target.members)
        request = attack_pb2.RunRequest(
            run_id=f"bench-{target_name}-{key}", attack=spec.attack,
            params_json=json.dumps(params), threat_model=threat.to_proto(),
            target=attack_pb2.TargetEndpoint(address=target_server.address),
            data=request_data, seed=0,
        )
        rss_before = peak_rss_mb()
        stub = attack_pb2_grpc.AttackStub(open_channel(attack_server.address))
        load = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        events = list(stub.Run(request))
        seconds = time.perf_counter() - start
        cpu_seconds = _cpu_seconds() - cpu_before
    finally:
        attack_server.stop(grace=0)
        target_server.stop(grace=0)
    result = next(e.result for e in events if e.HasField("result"))
    facts = {m.name: m.value for m in result.metrics}
    metrics = compute_mia_metrics(from_proto(result.scores), target.audit_member)

    def ci(est: Any) -> list[float | None]:  # 95 % bootstrap interval (after the timing)
        return [None if v is None else round(v, 4) for v in (est.ci_low, est.ci_high)]

    return {
        "auc": round(metrics.auc.value, 4),
        "tpr_at_1pct_fpr": round(metrics.tpr_at_fpr["1%"].value, 4),
        "tpr_at_0_1pct_fpr": round(metrics.tpr_at_fpr["0.1%"].value, 4),
        "auc_ci": ci(metrics.auc), "tpr_at_1pct_fpr_ci": ci(metrics.tpr_at_fpr["1%"]),
        "tpr_at_0_1pct_fpr_ci": ci(metrics.tpr_at_fpr["0.1%"]),
        "reference_compute_bfloat16": bool(facts.get("reference_compute_bfloat16", 0.0)),
        "seconds": round(seconds, 2),
        "peak_rss_mb": peak_rss_mb(),
        # Forkserver workers are not this process's children: they report their own peak RSS
        # and CPU seconds (result facts); cpu_s = this process + its workers.
        "worker_peak_rss_mb": facts.get("reference_worker_peak_rss_mb", 0.0),
        "workers_pss_mb": facts.get("reference_workers_pss_mb", 0.0),
        "cpu_s": round(cpu_seconds + facts.get("reference_worker_cpu_s", 0.0), 2),
        "load_1min": round(load, 2),
        "threads": facts.get("threads", 0.0),
        "reference_workers": facts.get("reference_workers", 0.0),
        "references": spec.references,
        "rss_before_run_mb": rss_before,
        "queries": int(facts.get("queries", 0)),
        "reference_cache_hit": bool(facts.get("reference_cache_hit", 0.0)),
        "audit_records": len(target.audit_rows),
        "population_records": 0 if adversary is None else len(adversary),
    }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="MNIST 5 epochs, fewer attacks and reference models (< 5 min)")
    parser.add_argument("--threads", type=int, default=1,
                        help="cores given to the attack service (its reference-training "
                             "workers, one thread each); default 1: the machine is shared")
    parser.add_argument("--targets", nargs="*", choices=TARGET_NAMES, help="subset of targets")
    parser.add_argument("--attacks", nargs="*",
                        help="subset of attack keys, e.g. loss lira_online_8")
    parser.add_argument("--skip-reference-training", action="store_true",
                        help="leave out the batched vs sequential reference-training timing")
    parser.add_argument("--one", nargs=2, metavar=("TARGET", "ATTACK"),
                        help="(internal) run one attack in this process and print its JSON")
    parser.add_argument("--workdir", type=Path, help="(internal) the parent's temporary folder")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread per process; more cores = more worker processes
    if args.one:
        print_json(run_one(args.one[0], args.one[1], args.workdir, args.quick, args.threads))
        return
    print_json(run_all(args))


if __name__ == "__main__":
    main()
