"""Shared by the benchmarks in tools/bench: peak memory, timed loops and the JSON last line."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB.

    Read from ``VmHWM`` in /proc/self/status: it belongs to this process's own address space.
    ``ru_maxrss`` is not used where /proc exists because Linux carries it over fork and exec, so
    a child started by a big parent would report at least the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # KiB on Linux


def calls_per_second(fn: Callable[[], object], seconds: float, min_calls: int = 3) -> float:
    """Call ``fn`` repeatedly for about ``seconds`` (after one warm-up call); calls per second."""
    fn()
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds or calls < min_calls:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls / elapsed


def interleaved_rates(
    fns: dict[str, Callable[[], object]], seconds: float, rounds: int = 5
) -> dict[str, float]:
    """Calls per second of each function, measured in alternating short rounds.

    Each function gets ``rounds`` rounds of ``seconds / rounds``, taken in turn, and the median
    round counts: on a shared, noisy machine a burst of load then hits every function alike.
    """
    per_round = seconds / rounds
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(calls_per_second(fn, per_round))
    return {name: statistics.median(values) for name, values in samples.items()}


def print_json(result: dict[str, Any]) -> None:
    """The benchmark's result: one JSON object on the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=False), flush=True)
