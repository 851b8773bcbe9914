"""Anonymeter side of the synthetic benchmark: run with the python of a separate virtualenv that
has ``anonymeter`` (never the project's lock: it pins numpy<1.27, and runs correctly on the
lock's numpy 2.4 / pandas 3.1 when installed without its pins), e.g.

    python3 -m venv /tmp/anon-venv
    /tmp/anon-venv/bin/pip install numpy==2.4.6 pandas==3.1.1 scikit-learn==1.9.1 scipy \
        joblib numba polars pyarrow
    /tmp/anon-venv/bin/pip install --no-deps anonymeter==1.1.0
    /tmp/anon-venv/bin/python tools/bench/anonymeter_peer.py IN_DIR OUT_JSON

``tools/bench/synthetic.py --peer-python PY`` writes IN_DIR: per generator the three tables the
range attacked (``<generator>-{original,synthetic,control}.csv``, decoded to value names) and
``job.json`` (generators, the attacks' sizes, the secret and the two linkage column sets); this
script runs Anonymeter's evaluators on the same tables with the same sizes and writes each risk,
its CI, the attack/control/baseline rates and the wall time as JSON. Nothing here imports the
range; only CSV and JSON cross.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator


def _risk(evaluator: Any, seconds: float) -> dict[str, Any]:
    risk = evaluator.risk()
    res = evaluator.results()
    return {"risk": float(risk.value), "ci": [float(risk.ci[0]), float(risk.ci[1])],
            "attack_rate": float(res.attack_rate.value),
            "control_rate": float(res.control_rate.value),
            "baseline_rate": float(res.baseline_rate.value), "wall_s": round(seconds, 2)}


def run_generator(folder: Path, name: str, job: dict[str, Any]) -> dict[str, Any]:
    ori, syn, control = (pd.read_csv(folder / f"{name}-{part}.csv")
                         for part in ("original", "synthetic", "control"))
    out: dict[str, Any] = {}
    for mode in ("univariate", "multivariate"):
        t0 = time.perf_counter()
        ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control,
                                  n_attacks=job["singling_out_attacks"], n_cols=job["n_cols"])
        try:
            ev.evaluate(mode=mode)
            out[f"singling-out-{mode}"] = _risk(ev, time.perf_counter() - t0)
        except RuntimeError as err:  # too few queries found
            out[f"singling-out-{mode}"] = {"error": str(err)[:200]}
    t0 = time.perf_counter()
    ev = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=job["targets"],
                              aux_cols=(job["link_a"], job["link_b"]), n_neighbors=1)
    ev.evaluate(n_jobs=1)
    out["linkability"] = _risk(ev, time.perf_counter() - t0)
    t0 = time.perf_counter()
    aux = [c for c in ori.columns if c != job["secret"]]
    ev = InferenceEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux,
                            secret=job["secret"], n_attacks=job["targets"])
    ev.evaluate(n_jobs=1)
    out["attribute-inference"] = _risk(ev, time.perf_counter() - t0)
    return out


def main() -> None:
    folder, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    job = json.loads((folder / "job.json").read_text())
    warnings.filterwarnings("ignore")
    result = {name: run_generator(folder, name, job) for name in job["generators"]}
    out_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
