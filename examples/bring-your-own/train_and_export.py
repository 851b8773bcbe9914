"""Bring your own target: the user's side, in plain PyTorch, knowing nothing of the range.

Writes ``patients.csv`` (a made-up clinic table: age, sex, bmi, blood pressure, smoker ->
readmitted), ``members.txt`` (the ids of the records the model trained on), then trains a small
MLP on the members only and exports it twice: ``model.onnx`` (any runtime) and
``model.safetensors`` (weights only; the layer names follow the range's zoo ``mlp`` spec with
one hidden layer of 32 units, so it can be audited white-box too).

    python train_and_export.py        # a few seconds on a CPU
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent
RECORDS, MEMBERS = 800, 400
# The user's own preprocessing, the same as schema.yaml declares for the range.
STATS = {"age": (50.0, 15.0), "bmi": (27.0, 5.0), "bp": (130.0, 20.0)}


def make_table(rng: np.random.Generator) -> list[dict[str, str]]:
    rows = []
    for i in range(RECORDS):
        age, bmi, bp = rng.normal(50, 15), rng.normal(27, 5), rng.normal(130, 20)
        sex, smoker = rng.choice(["f", "m"]), rng.choice(["no", "yes"], p=[0.7, 0.3])
        risk = 0.03 * (age - 50) + 0.1 * (bmi - 27) + (smoker == "yes") + rng.normal(0, 1.5)
        rows.append({"patient_id": f"P{i:05d}", "age": f"{age:.0f}", "sex": sex,
                     "bmi": f"{bmi:.1f}", "bp": f"{bp:.0f}", "smoker": smoker,
                     "readmitted": "yes" if risk > 0.3 else "no"})
    return rows


def encode(rows: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    x = [[(float(r[c]) - STATS[c][0]) / STATS[c][1] for c in ("age",)]
         + [float(r["sex"] == "f"), float(r["sex"] == "m")]
         + [(float(r[c]) - STATS[c][0]) / STATS[c][1] for c in ("bmi", "bp")]
         + [float(r["smoker"] == "no"), float(r["smoker"] == "yes")] for r in rows]
    y = [int(r["readmitted"] == "yes") for r in rows]
    return np.asarray(x, np.float32), np.asarray(y, np.int64)


def main() -> None:
    rng = np.random.default_rng(7)
    torch.manual_seed(7)
    rows = make_table(rng)
    columns = list(rows[0])
    lines = [",".join(columns)] + [",".join(r[c] for c in columns) for r in rows]
    (HERE / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    member_idx = np.sort(rng.choice(RECORDS, MEMBERS, replace=False))
    (HERE / "members.txt").write_text(
        "\n".join(rows[i]["patient_id"] for i in member_idx) + "\n", encoding="utf-8")

    x, y = encode(rows)
    xm, ym = torch.from_numpy(x[member_idx]), torch.from_numpy(y[member_idx])
    model = nn.Sequential(OrderedDict(
        flatten=nn.Flatten(), fc1=nn.Linear(x.shape[1], 32), relu1=nn.ReLU(),
        out=nn.Linear(32, 2)))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _epoch in range(300):  # long enough to memorise the members
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(xm), ym).backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(xm).argmax(1) == ym).float().mean().item()
    print(f"training accuracy {accuracy:.3f} on {MEMBERS} members")

    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(HERE / "model.safetensors"))
    torch.onnx.export(model, (torch.zeros(1, x.shape[1]),), str(HERE / "model.onnx"),
                      dynamo=False, input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    print("wrote patients.csv, members.txt, model.onnx, model.safetensors")


if __name__ == "__main__":
    main()
