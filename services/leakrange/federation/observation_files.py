"""The files a federation run leaves for the range (all safetensors or JSON, never pickle).

``<out>/round-<r>/global.safetensors``: the global model the server sent in round r (written by
the server only when the adversary is the server; by the adversary's ClientApp, as it received
it, when the adversary is a client). ``<out>/round-<r>/client-<k>.safetensors``: what client k
sent back in round r (server adversaries only). ``<out>/round-<r>/done.json``: the round
finished (aggregated), with the clients' reported training loss and record counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

GLOBAL = "global.safetensors"
DONE = "done.json"


def round_dir(out: Path, server_round: int) -> Path:
    return out / f"round-{server_round}"


def client_file(out: Path, server_round: int, client: int) -> Path:
    return round_dir(out, server_round) / f"client-{client}.safetensors"


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp))
    tmp.replace(path)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    return dict(load_file(str(path)))


def write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.replace(path)


def finished_rounds(out: Path) -> list[int]:
    rounds = []
    for d in out.glob("round-*"):
        if (d / DONE).is_file():
            rounds.append(int(d.name.split("-", 1)[1]))
    return sorted(rounds)
