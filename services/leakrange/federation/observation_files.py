"""The files a federation run leaves for the range (all safetensors or JSON, never pickle).

``<out>/round-<r>/global.safetensors``: the global model the server sent in round r (written by
the server only when the adversary is the server; by the adversary's ClientApp, as it received
it, when the adversary is a client). ``<out>/round-<r>/client-<k>.safetensors``: what client k
sent back in round r (server adversaries only). ``<out>/round-<r>/done.json``: the round
finished (aggregated), with the clients' reported training loss and record counts.

``FolderObservations`` reads and writes these files by observation name (``round-1/global``,
``round-1/client-0``, ``round-1/done``, ``round-1/eval``, ``final``); ``observation_store.py``
keeps the same names in the range's store (the Kubernetes range). ``Observations`` is what both
offer: the ServerApp writes through it, the range reads through it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from safetensors.numpy import load_file, save_file

GLOBAL = "global.safetensors"
DONE = "done.json"
FINAL = "final"
_ROUND_DONE = re.compile(r"^round-([0-9]+)/done$")


def global_name(server_round: int) -> str:
    return f"round-{server_round}/global"


def client_name(server_round: int, client: int) -> str:
    return f"round-{server_round}/client-{client}"


def done_name(server_round: int) -> str:
    return f"round-{server_round}/done"


def eval_name(server_round: int) -> str:
    return f"round-{server_round}/eval"


class Observations(Protocol):
    """A run's observation by name: tensors (safetensors) and documents (JSON), never pickle."""

    def write_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None: ...

    def write_json(self, name: str, doc: dict[str, Any]) -> None: ...

    def read_arrays(self, name: str) -> dict[str, np.ndarray]: ...

    def read_json(self, name: str) -> dict[str, Any]: ...

    def has(self, name: str) -> bool: ...

    def names(self) -> list[str]: ...


def rounds_done(observations: Observations) -> list[int]:
    """The rounds whose ``done`` record exists, ascending."""
    found = (_ROUND_DONE.match(n) for n in observations.names())
    return sorted(int(m.group(1)) for m in found if m)


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


class FolderObservations:
    """``Observations`` as the files above under ``out`` (the local range)."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def _path(self, name: str, suffix: str) -> Path:
        return self.out / f"{name}{suffix}"

    def write_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        write_arrays(self._path(name, ".safetensors"), arrays)

    def write_json(self, name: str, doc: dict[str, Any]) -> None:
        write_json(self._path(name, ".json"), doc)

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        return read_arrays(self._path(name, ".safetensors"))

    def read_json(self, name: str) -> dict[str, Any]:
        doc = json.loads(self._path(name, ".json").read_text(encoding="utf-8"))
        return dict(doc)

    def has(self, name: str) -> bool:
        return self._path(name, ".safetensors").is_file() or self._path(name, ".json").is_file()

    def names(self) -> list[str]:
        found = [p.relative_to(self.out).with_suffix("").as_posix()
                 for p in self.out.rglob("*") if p.suffix in (".safetensors", ".json")]
        return sorted(found)
