"""``RunnerSettings``: the knobs of exercise runs (bootstrap sizes, how often services are
checked)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerSettings:
    # Bootstrap resamples for the report's confidence intervals and for the headline numbers.
    report_bootstrap: int = 200
    headline_bootstrap: int = 100
    # How often the backend is asked whether a service died.
    check_interval: float = 1.0
