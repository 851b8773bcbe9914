"""The reaper every Flower tool of a local federation runs under (``federation/reaper.py``):
real processes, no Flower (``tests/e2e/test_federation_orphans.py`` kills a real federation's
range process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from leakrange.common.parent_watch import PARENT_PID_ENV

# A tool that ignores SIGTERM and spawns a child of its own (as a SuperNode spawns ClientApps).
STUBBORN_TOOL = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, "
                 "signal.SIG_IGN); subprocess.Popen([sys.executable, '-c', "
                 "'import time; time.sleep(600)']); print('up', flush=True); time.sleep(600)")
RANGE = ("import os, subprocess, sys; "
         f"env = dict(os.environ, {PARENT_PID_ENV}=str(os.getpid())); "
         "p = subprocess.Popen([sys.executable, '-m', 'leakrange.federation.reaper', '--', "
         "sys.executable, '-c', sys.argv[1]], env=env, start_new_session=True, "
         "stdout=sys.stdout); "
         "print(p.pid, flush=True); p.wait()")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def wait_until_empty(pgid: int, limit: float) -> list[int]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        left = group_members(pgid)
        if not left:
            return []
        time.sleep(0.2)
    return group_members(pgid)


def test_the_tool_and_its_children_die_with_a_sigkilled_range() -> None:
    rng = subprocess.Popen([sys.executable, "-c", RANGE, STUBBORN_TOOL],
                           stdout=subprocess.PIPE, text=True)
    assert rng.stdout is not None
    group = int(rng.stdout.readline())
    assert rng.stdout.readline().strip() == "up"
    deadline = time.monotonic() + 30
    while len(group_members(group)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(group_members(group)) == 3  # reaper, tool, the tool's child
    rng.kill()
    rng.wait(10)
    # The tool ignores SIGTERM: the reaper's SIGKILL after its grace period ends the group.
    assert wait_until_empty(group, 60) == []


def test_a_tool_alone_keeps_its_exit_code_and_is_not_touched() -> None:
    out = subprocess.run([sys.executable, "-m", "leakrange.federation.reaper", "--",
                          sys.executable, "-c", "import sys; print('ok'); sys.exit(3)"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, PARENT_PID_ENV: str(os.getpid())})
    assert out.returncode == 3 and out.stdout.strip() == "ok"


def test_sigterm_to_the_group_stops_the_tool_and_reports_the_signal() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "leakrange.federation.reaper", "--",
                             sys.executable, "-c", "import time; print('up', flush=True); "
                             "time.sleep(600)"],
                            stdout=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, PARENT_PID_ENV: str(os.getpid())})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    os.killpg(proc.pid, signal.SIGTERM)  # what the launcher's stop() sends
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert wait_until_empty(proc.pid, 30) == []


def test_no_program_is_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "leakrange.federation.reaper"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "usage" in out.stderr
