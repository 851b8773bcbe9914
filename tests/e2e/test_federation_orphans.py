"""A range process SIGKILLed mid-federation leaves no Flower process behind: the SuperLink, the
SuperNodes, ``flwr run`` and the ServerApp/ClientApp processes they spawn all run under
``federation/reaper.py`` (the local range's parent watch) on Flower's real deployment engine
(.venv-federated, built by ``make setup``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RANGE = """
import json, sys
from pathlib import Path
from leakrange.datasets import load_dataset
from leakrange.federation.flower_env import find_flower_env
from leakrange.federation.launcher import Federation
from leakrange.federation.settings import FederationSettings
from leakrange.models import zoo_spec

work = Path(sys.argv[1])
data = load_dataset("digits")
spec = zoo_spec("mlp-small", data.input_shape, data.num_classes)
settings = FederationSettings(
    clients=2, rounds=50, local_epochs=1, batch_size=4, lr=0.1, seed=0,
    model_spec=json.loads(spec.model_dump_json()), out_dir=str(work / "out"))
Federation(find_flower_env(), work, settings,
           [(data.x[:4], data.y[:4]), (data.x[4:8], data.y[4:8])]).run(timeout=900)
"""


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working folder is under ``folder`` (every Flower process the
    launcher starts runs in its logs folder, and what they spawn inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and cwd.startswith(str(folder)):
            found.append(int(entry.name))
    return found


def test_no_flower_process_outlives_a_sigkilled_range(tmp_path: Path) -> None:
    from leakrange.federation.observation_files import finished_rounds

    work = tmp_path / "federation"
    rng = subprocess.Popen([sys.executable, "-c", RANGE, str(work)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 500
        while not finished_rounds(work / "out") and time.monotonic() < deadline:
            assert rng.poll() is None, rng.stderr.read() if rng.stderr else ""
            time.sleep(0.5)
        assert finished_rounds(work / "out"), "the federation never finished a round"
        running = processes_in(work)
        # 3 reapers and their tools (superlink, 2 supernodes) and flwr run's, at least
        assert len(running) >= 8, running
    finally:
        rng.send_signal(signal.SIGKILL)
        rng.wait(30)
    deadline = time.monotonic() + 90
    while processes_in(work) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_in(work) == [], "Flower processes outlived their SIGKILLed range"
