"""Runs a federation on Flower's deployment engine on loopback (range side; imports no Flower).

One ``flower-superlink`` and one ``flower-supernode`` per client, each its own process (own
session) with its own ports, started from the federated environment; then ``flwr run`` submits
the range's app (``server_app.py`` / ``client_app.py``) through the SuperLink's Control API and
streams its logs until the run ends. Each tool runs under ``reaper.py``, so it (and the
ClientApp/ServerApp processes it spawns) dies with the range even when the range is SIGKILLed.
Partition files are written 0600 in the run folder, one per client, and each SuperNode is
told only its own. If any process dies before the run ends (a killed SuperNode mid-round),
every process is stopped and the run fails with that reason; the rounds that finished stay on disk
(``observation_files.finished_rounds``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from leakrange.common.errors import Cancelled, FailedPrecondition
from leakrange.common.parent_watch import PARENT_PID_ENV
from leakrange.federation.app_files import write_app, write_flwr_config
from leakrange.federation.flower_env import FlowerEnv
from leakrange.federation.observation_files import finished_rounds, write_arrays
from leakrange.federation.settings import FederationSettings

POLL_SECONDS = 0.2
_STRATEGY_SECONDS = re.compile(r"Strategy execution finished in ([0-9.]+)s")
START_TIMEOUT = 120.0

StopFn = Callable[[], bool]
ProgressFn = Callable[[int, int], None]


@dataclass
class FederationOutcome:
    out_dir: Path
    rounds: list[int]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (bound together, then released for the services)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_listening(port: int, proc: _Proc, timeout: float) -> None:
    """Until something accepts TCP connections on loopback ``port`` (or ``proc`` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.exit_code()
        if code is not None:
            raise FailedPrecondition(f"{proc.name} exited (code {code}) while starting: "
                                     f"{proc.tail(3)}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(POLL_SECONDS)
    raise FailedPrecondition(f"{proc.name} did not start listening in {timeout:.0f} s")


class _Proc:
    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str]
                 ) -> None:
        self.name = name
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log: IO[str] = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(list(argv), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=log_path.parent,
                                     start_new_session=True)

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:  # the group may still hold its children (ClientApp processes)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(t.strip() for t in text.strip().splitlines()[-lines:])


class Federation:
    """One federation run in ``work_dir`` (see the module docstring)."""

    def __init__(self, flower: FlowerEnv, work_dir: Path, settings: FederationSettings,
                 partitions: Sequence[tuple[np.ndarray, np.ndarray]],
                 observer: int | None = None) -> None:
        self._flower = flower
        self._work = work_dir
        self._settings = settings
        self._partitions = partitions
        self._observer = observer
        self._procs: list[_Proc] = []
        self.supernodes: list[_Proc] = []

    @property
    def observe_dir(self) -> Path:
        return self._work / "observer"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LEAKRANGE_", "VIRTUAL_ENV", "PYTHONPATH"))}
        env["PATH"] = f"{self._flower.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["FLWR_HOME"] = str(self._work / "flwr-home")
        env["PYTHONUNBUFFERED"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        env[PARENT_PID_ENV] = str(os.getpid())  # read by the reaper each tool runs under
        return env

    def _reaped(self, argv: Sequence[str]) -> list[str]:
        """``argv`` under ``federation/reaper.py``: the tool and what it spawns die with the
        range, even when the range is SIGKILLed."""
        return [self._flower.tool("python"), "-m", "leakrange.federation.reaper", "--", *argv]

    def _prepare_files(self, control_port: int) -> Path:
        work = self._work
        work.mkdir(parents=True, exist_ok=True, mode=0o700)
        for k, (x, y) in enumerate(self._partitions):
            path = work / "partitions" / f"client-{k}.safetensors"
            write_arrays(path, {"x": x.astype(np.float32), "y": y.astype(np.int64)})
            path.chmod(0o600)
        (work / "settings.json").write_text(self._settings.model_dump_json(), encoding="utf-8")
        app = write_app(work / "app")
        write_flwr_config(work / "flwr-home", f"127.0.0.1:{control_port}")
        return app

    def run(self, *, should_stop: StopFn | None = None, progress: ProgressFn | None = None,
            timeout: float = 3600.0) -> FederationOutcome:
        started = time.monotonic()
        n = len(self._partitions)
        # Flower 1.42 serves the Fleet, Control and ServerAppIo APIs on one HTTP port.
        link, *node_ports = free_ports(1 + n)
        app = self._prepare_files(link)
        env = self._env()
        logs = self._work / "logs"
        try:
            self._procs.append(_Proc("superlink", self._reaped([
                self._flower.tool("flower-superlink"), "--insecure", "--isolation", "subprocess",
                "--disable-runtime-dependency-installation",
                "--host", "127.0.0.1", "--port", str(link),
            ]), logs / "superlink.log", env))
            wait_listening(link, self._procs[0], START_TIMEOUT)
            for k in range(n):
                config = (f"partition-id={k} partition-file="
                          f"'{self._work / 'partitions' / f'client-{k}.safetensors'}'")
                if k == self._observer:
                    config += f" observe-dir='{self.observe_dir}'"
                node = _Proc(f"supernode {k}", self._reaped([
                    self._flower.tool("flower-supernode"), "--insecure",
                    "--superlink", f"127.0.0.1:{link}", "--isolation", "subprocess",
                    "--host", "127.0.0.1", "--port", str(node_ports[k]),
                    "--node-config", config,
                ]), logs / f"supernode-{k}.log", env)
                self._procs.append(node)
                self.supernodes.append(node)
            boot = time.monotonic()
            runner = _Proc("flwr run", self._reaped([
                self._flower.tool("flwr"), "run", str(app), "range", "--stream",
                "--run-config", f"settings-file='{self._work / 'settings.json'}'",
            ]), logs / "flwr-run.log", env)
            self._procs.append(runner)
            self._wait(runner, should_stop, progress, timeout)
        finally:
            self.stop()
        out = Path(self._settings.out_dir)
        if not (out / "final.safetensors").is_file():
            raise FailedPrecondition(
                f"the federation ended without a final model; rounds finished: "
                f"{finished_rounds(out) or 'none'} (flwr run: {runner.tail(3)})")
        now = time.monotonic()
        phases = {"start_processes": boot - started, "run": now - boot}
        strategy = _STRATEGY_SECONDS.search(runner.log_text())
        if strategy:  # Flower's own figure: the rounds themselves (ClientApp processes)
            phases["fedavg_rounds"] = float(strategy.group(1))
            phases["serverapp_start_and_cli"] = phases["run"] - phases["fedavg_rounds"]
        return FederationOutcome(out, finished_rounds(out), now - started, phases)

    def _wait(self, runner: _Proc, should_stop: StopFn | None, progress: ProgressFn | None,
              timeout: float) -> None:
        deadline = time.monotonic() + timeout
        out = Path(self._settings.out_dir)
        total = self._settings.rounds
        seen = -1
        while True:
            code = runner.exit_code()
            if code is not None:
                if code != 0:
                    raise FailedPrecondition(f"flwr run failed (code {code}): {runner.tail(3)}")
                return
            for proc in self._procs:
                died = proc.exit_code()
                if proc is not runner and died is not None:
                    done = finished_rounds(out)
                    raise FailedPrecondition(
                        f"{proc.name} exited (code {died}) during round {len(done) + 1} of "
                        f"{total}; finished rounds kept: {done or 'none'}")
            if should_stop is not None and should_stop():
                raise Cancelled("the federation was stopped")
            if time.monotonic() > deadline:
                raise FailedPrecondition(f"the federation did not finish in {timeout:.0f} s")
            if progress is not None:
                done_now = len(finished_rounds(out))
                if done_now != seen:
                    seen = done_now
                    progress(done_now, total)
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            proc.stop()
