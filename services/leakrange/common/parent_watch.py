"""Children of the local range die with their parent.

The local backend starts each service in its own session (so one signal reaches the service's
whole process group), which also means nothing kills it when the parent is SIGKILLed. The parent
passes its pid in ``LEAKRANGE_PARENT_PID``; the service polls ``os.getppid()`` and drains itself
(SIGTERM to its own process) once it has been re-parented. Polling works everywhere, unlike
``PR_SET_PDEATHSIG``, which Linux ties to the spawning *thread*, not the parent process.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping

PARENT_PID_ENV = "LEAKRANGE_PARENT_PID"
POLL_SECONDS = 1.0

log = logging.getLogger(__name__)


def watch_parent(env: Mapping[str, str] | None = None, poll: float = POLL_SECONDS
                 ) -> threading.Thread | None:
    """Start the watcher if the environment names a parent; returns its thread."""
    value = (env if env is not None else os.environ).get(PARENT_PID_ENV, "")
    if not value.isascii() or not value.isdigit():
        return None
    parent = int(value)
    if os.getppid() != parent:  # already orphaned before we got here
        os.kill(os.getpid(), signal.SIGTERM)
        return None

    def run() -> None:
        stop = threading.Event()
        while not stop.wait(poll):
            if os.getppid() != parent:
                log.warning("parent process is gone: draining")
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=run, name="parent-watch", daemon=True)
    thread.start()
    return thread
