"""One ``leakrange serve ...`` child process: start, learn its ports, watch it, stop it.

The child binds port 0 and prints ``LEAKRANGE_READY port=N metrics_port=M`` on stdout once it
serves; everything else it prints (stdout and stderr) goes to its log file.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from leakrange.common.errors import Unavailable
from leakrange.common.parent_watch import PARENT_PID_ENV
from leakrange.orchestrator.local.adversary_user import AdversaryUser

_READY = re.compile(r"^LEAKRANGE_READY port=(\d+) metrics_port=(\d+)\s*$")


def parse_ready_line(line: str) -> tuple[int, int] | None:
    """(port, metrics_port) from a ready line, or None for any other line."""
    match = _READY.match(line.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


class ChildProcess:
    """A service process in its own session (so a signal reaches its whole process group)."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str],
        user: AdversaryUser | None = None,
    ) -> None:
        self.name = name
        self.user = user
        self._argv = list(argv)
        self._log_path = log_path
        self._env = dict(env)
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._ports: tuple[int, int] | None = None
        self._log: IO[str] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise Unavailable(f"{self.name} process was not started")
        return self._proc.pid

    def start(self) -> ChildProcess:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self._log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        # Own session: a signal reaches the service's whole group; the parent's pid lets the
        # service drain itself if this process dies without tearing it down (parent_watch).
        env = {**self._env, PARENT_PID_ENV: str(os.getpid())}
        user = self.user
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
            env=env, text=True, bufsize=1, start_new_session=True,
            user=user.uid if user else None, group=user.gid if user else None,
            extra_groups=[] if user else None,
        )
        threading.Thread(target=self._read_stdout, name=f"{self.name}-stdout",
                         daemon=True).start()
        return self

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if self._ports is None:
                ports = parse_ready_line(line)
                if ports is not None:
                    self._ports = ports
                    self._ready.set()
                    continue
            try:
                if self._log is not None:
                    self._log.write(line)
            except ValueError:  # log closed by stop(); the rest of the output is dropped
                pass
        self._ready.set()  # EOF: wake a waiter; it sees no ports

    def wait_ready(self, timeout: float) -> tuple[int, int]:
        """(port, metrics_port) once the child serves; ``Unavailable`` if it exits or hangs."""
        self._ready.wait(timeout)
        if self._ports is not None:
            return self._ports
        code = self.exit_code()
        if code is None and self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._proc.wait(1.0)  # stdout closed: the process is on its way out
        if code is not None:
            reason = self.last_error()
            raise Unavailable(f"{self.name} process exited before it was ready (code {code})"
                              + (f": {reason}" if reason else ""))
        raise Unavailable(f"{self.name} process did not start within {timeout:.0f} s")

    def last_error(self) -> str:
        """The service's last ``error: ...`` line (services print only safe, data-free
        messages there), or ""."""
        try:
            with open(self._log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 8192))
                tail = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        errors = [ln[len("error: "):].strip() for ln in tail.splitlines()
                  if ln.startswith("error: ")]
        return errors[-1][:300] if errors else ""

    def exit_code(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(grace)
        if self._log is not None:
            self._log.close()


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
