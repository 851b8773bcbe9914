"""``python -m leakrange.federation.submit_run``: the Kubernetes range's federation run Job.

Runs in the federation image (Flower's environment) with no store identity and no service
account token: it writes the range's app (``app_files.py``) and the Flower CLI configuration
naming the exercise's SuperLink Service, then ``flwr run --stream`` submits the app through the
SuperLink's Control API with the run config ``store`` / ``store-prefix`` (where the ServerApp,
in the SuperLink pod, reads its settings and writes the observation) and follows the run's logs
until it ends. Its exit status is ``flwr run``'s: the Job completes or fails with the run.
Imports no generated stubs (runs on protobuf 6).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from leakrange.federation.app_files import FEDERATION, write_app, write_flwr_config

_UNSAFE = ("'", "\n", "\r", "\\")


def run_config(store: str, prefix: str) -> str:
    """The ``--run-config`` value (TOML literal strings: no quote, backslash or newline)."""
    for what, value in (("--store", store), ("--prefix", prefix)):
        if not value or any(c in value for c in _UNSAFE):
            raise ValueError(f"{what} must be set and contain no quote, backslash or newline")
    return f"store='{store}' store-prefix='{prefix}'"


def command(flwr: str, app: Path, store: str, prefix: str) -> list[str]:
    return [flwr, "run", str(app), FEDERATION, "--stream",
            "--run-config", run_config(store, prefix)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--superlink", required=True, help="host:port of the SuperLink")
    parser.add_argument("--store", required=True, help="the range's store URL (no secrets)")
    parser.add_argument("--prefix", required=True, help="the run's manifest prefix")
    parser.add_argument("--flwr", default=shutil.which("flwr") or "flwr")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="leakrange-run-"))
    try:
        argv_run = command(args.flwr, write_app(work / "app"), args.store, args.prefix)
    except ValueError as err:
        print(f"submit-run: {err}", file=sys.stderr)
        return 2
    home = work / "flwr-home"
    write_flwr_config(home, args.superlink)
    env = {**os.environ, "FLWR_HOME": str(home)}
    return subprocess.run(argv_run, env=env, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
