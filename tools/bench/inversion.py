"""Benchmark of the inversion family on its examples: per attack wall time, evaluation-classifier
accuracy and nearest-member distance ratio (reconstructions), attribute-inference accuracy vs
its no-model baseline. Runs each example with ``leakrange run`` (``--quick``: fewer steps and a
smaller audit) and prints a JSON object on the last line.

Usage: python tools/bench/inversion.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("mnist-inversion", "adult-attribute-inference")
QUICK_PARAMS = {"class_inversion": {"restarts": 2, "steps": 150},
                "gmi": {"restarts": 4, "steps": 100, "generator_epochs": 10}}


def quick(spec: dict) -> dict:
    spec["audit"] = {"records_per_side": 300}
    for adversary in spec["adversaries"]:
        for attack in adversary["attacks"]:
            attack.setdefault("params", {}).update(QUICK_PARAMS.get(attack["name"], {}))
    return spec


def run_example(name: str, out: Path, is_quick: bool) -> dict:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        result = {name: run_example(name, out, args.quick) for name in EXAMPLES}
    print(json.dumps({"bench": "inversion", "quick": args.quick, "examples": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
