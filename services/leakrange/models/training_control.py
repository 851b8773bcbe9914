"""What every training loop is handed to report progress and to be stopped."""

from __future__ import annotations

from collections.abc import Callable

from leakrange.common.errors import Cancelled

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


def check_stop(should_stop: StopFn | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("training cancelled")
