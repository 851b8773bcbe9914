"""``LocalBackend``: the target and each attack family as child processes on loopback.

Each exercise gets ``leakrange serve target`` (with one ``principal:token`` per adversary, so
each adversary has its own query budget; none when the target kind deploys no Target
service) and one ``leakrange serve attack --family F`` per family, all on port 0. Tokens
travel in the environment, never on the command line. The pids
of every exercise are written to ``<data_dir>/local-range/<exercise>.json`` so a restarted
orchestrator can stop what a killed one left behind.

Attack services get their own artifact store (``<data_dir>/adversary-store`` unless told
otherwise), never the range's: the range store holds the split (``groundtruth/``) and the
orchestrator's caches, which the adversary must not be able to read. The adversary store keeps
the attacks' reference-model caches across exercises and, under a white-box policy only, a copy
of the target's weights blob (the artifact ``GetWeights`` points to).

Run as root with ``adversary_uid`` (``LEAKRANGE_ADVERSARY_UID``), the orchestrator starts the attack
services as that unprivileged user, so they cannot read the range's store or the target's
environment on disk either; see ``adversary_user``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from leakrange.artifacts import MEDIA_MODEL, open_store
from leakrange.common.client import open_channel, wait_healthy
from leakrange.common.errors import InvalidArgument, RangeError, Unavailable
from leakrange.orchestrator.backend import Deployment, RangeBackend, TargetDeploySpec
from leakrange.orchestrator.local.adversary_user import AdversaryUser
from leakrange.orchestrator.local.child_process import ChildProcess, signal_group

log = logging.getLogger(__name__)

PIDS_DIR = "local-range"
LOGS_DIR = "logs"
ADVERSARY_STORE_DIR = "adversary-store"
ADVERSARY_HOME_DIR = "adversary-home"


def _target_output_flag(spec: TargetDeploySpec) -> str:
    access = spec.access
    return f"topk:{access.top_k}" if access.output == "topk" else access.output


class LocalBackend(RangeBackend):
    """Child processes of this orchestrator (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        store_url: str,
        data_dir: str | Path,
        *,
        ready_timeout: float = 120.0,
        log_level: str = "WARNING",
        python: str = sys.executable,
        extra_env: Mapping[str, str] | None = None,
        adversary_store_url: str | None = None,
        adversary_uid: int | None = None,
    ) -> None:
        self._store_url = store_url
        self._data_dir = Path(data_dir)
        self._adversary_store_url = adversary_store_url or str(
            (self._data_dir / ADVERSARY_STORE_DIR).resolve())
        self._ready_timeout = ready_timeout
        self._log_level = log_level
        self._python = python
        self._extra_env = dict(extra_env or {})
        # A separate OS user for attack processes (root only), else None: the same user.
        self.adversary_user = AdversaryUser.choose(adversary_uid)
        if self.adversary_user is not None:
            self.adversary_user.check_can_run(python)
        self._running: dict[str, list[ChildProcess]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ deploy

    def deploy(
        self,
        exercise_id: str,
        target: TargetDeploySpec | None,
        families: Sequence[str],
        tokens: Mapping[str, str],
    ) -> Deployment:
        for principal, token in tokens.items():
            if not principal or any(c in principal + token for c in ",: "):
                raise InvalidArgument("tokens", "must not contain ',', ':' or spaces")
        attack_token = secrets.token_urlsafe(24)
        children: dict[str, ChildProcess] = {}
        if target is not None and target.access.white_box:
            self._share_weights(target.model)
        self._hand_over_adversary_folders()
        if target is not None:
            children["target"] = self._child(
                exercise_id, "target", [*self._target_argv(target), "--exercise-id", exercise_id],
                {"LEAKRANGE_CLIENT_TOKENS": ",".join(f"{p}:{t}" for p, t in tokens.items())})
        for family in families:
            children[f"attack-{family}"] = self._child(
                exercise_id, f"attack-{family}",
                [*self._serve("attack", self._adversary_store_url), "--family", family],
                self._adversary_env(attack_token), user=self.adversary_user,
            )
        with self._lock:
            if exercise_id in self._running:
                raise InvalidArgument("exercise", "already deployed")
            self._running[exercise_id] = list(children.values())
        try:
            for child in children.values():
                child.start()
            self._write_pids(exercise_id, [c.pid for c in children.values()])
            addresses = {name: self._wait(child) for name, child in children.items()}
        except BaseException:
            self.teardown(exercise_id)
            raise
        return Deployment(
            exercise_id=exercise_id,
            target_address=addresses.get("target", ""),
            attack_addresses={f: addresses[f"attack-{f}"] for f in families},
            attack_token=attack_token,
            details={name: str(child.pid) for name, child in children.items()},
        )

    @property
    def adversary_store_url(self) -> str:
        return self._adversary_store_url

    def _share_weights(self, model: str) -> None:
        """White-box only: the adversary may read the target's weights blob, nothing else."""
        range_store = open_store(self._store_url)
        ref = range_store.resolve(model)
        adversary_store = open_store(self._adversary_store_url)
        if not adversary_store.exists(ref.sha256):
            adversary_store.put_bytes(range_store.get_bytes(ref), MEDIA_MODEL)

    def _hand_over_adversary_folders(self) -> None:
        """The adversary user's own store folder and HOME (what the root range wrote there,
        e.g. a white-box weights copy, becomes theirs)."""
        if self.adversary_user is None:
            return
        if "://" not in self._adversary_store_url:
            self.adversary_user.hand_over(Path(self._adversary_store_url))
        self.adversary_user.hand_over(self._data_dir / ADVERSARY_HOME_DIR)

    def _adversary_env(self, attack_token: str) -> dict[str, str]:
        env = {"LEAKRANGE_TOKEN": attack_token}
        if self.adversary_user is not None:  # the orchestrator's HOME is not theirs to write
            home = str((self._data_dir / ADVERSARY_HOME_DIR).resolve())
            env.update({"HOME": home, "XDG_CACHE_HOME": f"{home}/.cache"})
        return env

    def _serve(self, what: str, store_url: str | None = None) -> list[str]:
        return [self._python, "-m", "leakrange.cli.main", "serve", what,
                "--store", store_url or self._store_url, "--host", "127.0.0.1", "--port", "0",
                "--log-level", self._log_level]

    def _target_argv(self, spec: TargetDeploySpec) -> list[str]:
        argv = [*self._serve("target"), "--model", spec.model,
                "--output", _target_output_flag(spec),
                "--query-budget", str(spec.access.query_budget),
                "--max-batch", str(spec.max_batch)]
        if spec.access.rounding is not None:
            argv += ["--rounding", str(spec.access.rounding)]
        if spec.access.white_box:
            argv.append("--white-box")
        return argv

    def _child(
        self, exercise_id: str, name: str, argv: list[str], env: Mapping[str, str],
        user: AdversaryUser | None = None,
    ) -> ChildProcess:
        child_env = {
            k: v for k, v in os.environ.items()
            if k not in ("LEAKRANGE_TOKEN", "LEAKRANGE_CLIENT_TOKENS", "LEAKRANGE_PORT")
        }
        child_env.update(self._extra_env)
        child_env.update(env)
        child_env["PYTHONUNBUFFERED"] = "1"
        log_path = self._data_dir / LOGS_DIR / exercise_id / f"{name}.log"
        return ChildProcess(name, argv, log_path, child_env, user)

    def _wait(self, child: ChildProcess) -> str:
        port, _metrics_port = child.wait_ready(self._ready_timeout)
        address = f"127.0.0.1:{port}"
        channel = open_channel(address)
        try:
            if not wait_healthy(channel, timeout=self._ready_timeout):
                raise Unavailable(f"{child.name} service did not become healthy")
        finally:
            channel.close()
        return address

    # ------------------------------------------------------------------ watch

    def check(self, deployment: Deployment) -> str | None:
        with self._lock:
            children = list(self._running.get(deployment.exercise_id, []))
        for child in children:
            code = child.exit_code()
            if code is not None:
                return f"{child.name} process exited (code {code})"
        return None

    def processes(self, exercise_id: str) -> dict[str, int]:
        """Service name -> pid of the running children of ``exercise_id`` (for operators)."""
        with self._lock:
            return {c.name: c.pid for c in self._running.get(exercise_id, [])}

    # --------------------------------------------------------------- teardown

    def teardown(self, exercise_id: str) -> None:
        with self._lock:
            children = self._running.pop(exercise_id, [])
        for child in children:
            try:
                child.stop()
            except (OSError, RangeError):
                log.warning("could not stop a child process", extra={"child": child.name})
        self._pid_file(exercise_id).unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            ids = list(self._running)
        for exercise_id in ids:
            self.teardown(exercise_id)

    # ---------------------------------------------------------------- orphans

    def _pid_file(self, exercise_id: str) -> Path:
        return self._data_dir / PIDS_DIR / f"{exercise_id}.json"

    def _write_pids(self, exercise_id: str, pids: list[int]) -> None:
        path = self._pid_file(exercise_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pids": pids}), encoding="utf-8")
        tmp.replace(path)

    def cleanup_orphans(self) -> list[str]:
        folder = self._data_dir / PIDS_DIR
        if not folder.is_dir():
            return []
        with self._lock:
            mine = set(self._running)
        cleaned: list[str] = []
        for path in sorted(folder.glob("*.json")):
            exercise_id = path.stem
            if exercise_id in mine:
                continue
            try:
                pids = [int(p) for p in json.loads(path.read_text(encoding="utf-8"))["pids"]]
            except (OSError, ValueError, KeyError, TypeError):
                pids = []
            killed = [pid for pid in pids if _is_range_service(pid)]
            for pid in killed:
                signal_group(pid, signal.SIGKILL)
            _wait_gone(killed, timeout=30.0)  # a loaded machine can take a while to reap
            path.unlink(missing_ok=True)
            cleaned.append(exercise_id)
        return cleaned


def _is_range_service(pid: int) -> bool:
    """True if ``pid`` is still a ``leakrange serve`` process (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"leakrange.cli.main" in cmdline and b"serve" in cmdline


def _wait_gone(pids: list[int], timeout: float) -> None:
    """Wait until none of ``pids`` is a running range service any more (SIGKILL is async)."""
    deadline = time.monotonic() + timeout
    while any(_is_range_service(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
