"""A point estimate with an optional confidence interval."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Estimate(BaseModel):
    """``value`` with a two-sided confidence interval (bounds ``None`` when none was computed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def lower(self) -> float:
        """The lower CI bound, or the value itself when there is no interval."""
        return self.value if self.ci_low is None else self.ci_low

    @property
    def upper(self) -> float:
        """The upper CI bound, or the value itself when there is no interval."""
        return self.value if self.ci_high is None else self.ci_high
