"""The local range: each exercise's services as child processes on loopback ports."""

from leakrange.orchestrator.local.child_process import ChildProcess, parse_ready_line
from leakrange.orchestrator.local.local_range import LocalBackend

__all__ = ["ChildProcess", "LocalBackend", "parse_ready_line"]
