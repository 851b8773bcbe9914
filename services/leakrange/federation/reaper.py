"""``python -m leakrange.federation.reaper ARGV...``: run one Flower process so that it dies
with the range.

Flower's own tools (``flower-superlink``, ``flower-supernode``, ``flwr run``) cannot run the
range's parent watch, so the launcher starts each through this wrapper, in the wrapper's own
session: the tool (and the ClientApp/ServerApp processes it spawns) stays in the wrapper's
process group, and the wrapper runs ``leakrange.common.parent_watch`` (the mechanism every
local-range service uses). When the range process is gone (SIGKILLed), or the wrapper gets
SIGTERM, it sends SIGTERM to its whole group, then SIGKILL after a grace period. Otherwise it
exits with the tool's exit code. Standard library only: it runs in the federated environment,
which must never load ``leakrange.v1``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from leakrange.common.parent_watch import PARENT_PID_ENV, watch_parent

GRACE_SECONDS = 5.0
POLL_SECONDS = 0.2


def _exit_code(code: int) -> int:
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says


def run(argv: Sequence[str], grace: float = GRACE_SECONDS) -> int:
    env = dict(os.environ)
    env.pop(PARENT_PID_ENV, None)  # the tool's own children answer to the tool, not the range
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stopping.set())
    proc = subprocess.Popen(list(argv), env=env)  # same process group as this wrapper
    watch_parent()  # SIGTERMs this wrapper once the range process is gone
    while proc.poll() is None:
        if stopping.wait(POLL_SECONDS):
            break
    if proc.poll() is None or stopping.is_set():
        _drain_group(proc, grace)
    return _exit_code(proc.wait())


def _drain_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the group (the tool and what it spawned), SIGKILL whatever is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group signal below reaches us too
    group = os.getpgrp()
    os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    # Grandchildren (ClientApp processes) may outlive the tool: kill the rest of the group.
    # SIGKILL reaches this wrapper as well, so reap the tool first to keep its exit code.
    code = proc.poll()
    if code is None:
        proc.kill()
        code = proc.wait()
    sys.stdout.flush()
    if _others_left(group):
        os.killpg(group, signal.SIGKILL)
    raise SystemExit(_exit_code(code))


def _others_left(group: int) -> bool:
    me = os.getpid()
    try:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return True
    for pid in pids:
        if pid == me:
            continue
        try:
            if os.getpgid(pid) == group:
                return True
        except (ProcessLookupError, PermissionError):
            continue
    return False


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print("usage: python -m leakrange.federation.reaper [--] PROGRAM [ARGS...]",
              file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
