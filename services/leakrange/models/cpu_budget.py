"""How many CPU cores this process is given: its affinity mask, capped by a cgroup CPU quota.

A Kubernetes pod with ``limits.cpu: 2`` on a 64-core node sees 64 CPUs in ``os.cpu_count()`` but
may only use two: the quota in ``/sys/fs/cgroup/cpu.max`` (cgroup v2) or
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (v1) says so.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_quota_cores(root: Path = CGROUP_ROOT) -> float | None:
    """The cgroup CPU quota in cores, or None when there is none (or no cgroup files)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def available_cores(root: Path = CGROUP_ROOT) -> int:
    """Cores this process may use (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_quota_cores(root)
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)
