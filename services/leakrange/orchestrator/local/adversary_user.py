"""The OS user the local range runs attack-family processes as.

An orchestrator that runs as root can start every adversary as a separate unprivileged user. Set
``LEAKRANGE_ADVERSARY_UID`` (``LocalBackend(adversary_uid=...)``), e.g. 65534 (``nobody``). The
range's store, its state database and its logs stay owned by root and are written owner-only
(0600 files, 0700 folders), so attack code cannot read the ground truth on disk. It cannot read
the target's environment either (``/proc/<pid>/environ``, where the other adversaries' tokens
are), nor signal range processes. The adversary's own store folder and its ``HOME`` are handed to
that user. The data folder must be reachable by it (execute permission on every parent folder):
otherwise the deploy is refused, naming the folder, rather than failing inside the adversary.

Without root no other uid is available. An unprivileged user namespace maps only the caller's
own uid, so file permissions cannot separate it. Asking for a separate user is then refused, and
by default the adversaries run as the orchestrator's user. The README says what still separates
them.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from leakrange.common.errors import InvalidArgument

ENV_ADVERSARY_UID = "LEAKRANGE_ADVERSARY_UID"


@dataclass(frozen=True)
class AdversaryUser:
    """uid/gid of the adversary processes (never root)."""

    uid: int
    gid: int

    @classmethod
    def choose(cls, requested: int | None = None) -> AdversaryUser | None:
        """The adversary user ``requested`` (else ``LEAKRANGE_ADVERSARY_UID``); ``None`` (the
        orchestrator's own user) when neither is set. A separate user needs root: asking for
        one otherwise is refused, naming the setting."""
        if requested is None and os.environ.get(ENV_ADVERSARY_UID):
            value = os.environ[ENV_ADVERSARY_UID]
            if not value.isdigit():
                raise InvalidArgument(ENV_ADVERSARY_UID, "must be a numeric uid")
            requested = int(value)
        if requested is None:
            return None
        if requested == 0:
            raise InvalidArgument("adversary_uid", "must not be root (0)")
        if os.geteuid() != 0:
            raise InvalidArgument("adversary_uid", "a separate adversary user needs an "
                                  "orchestrator running as root")
        try:
            return cls(requested, pwd.getpwuid(requested).pw_gid)
        except KeyError:
            return cls(requested, requested)

    def _reachable(self, path: Path) -> Path | None:
        """The first parent folder of ``path`` this user cannot search, or None."""
        for parent in reversed(path.parents):
            if not parent.exists():
                continue
            info = parent.stat()
            if not info.st_mode & 0o001 and info.st_uid != self.uid:
                return parent
        return None

    def check_can_run(self, program: str) -> None:
        """Refuse (naming it) an interpreter this user could not execute, e.g. a venv whose
        Python lives under root's home: the deploy would fail inside every adversary."""
        real = Path(program).resolve()
        blocked = self._reachable(real)
        if blocked is not None or not real.stat().st_mode & 0o001:
            raise InvalidArgument("adversary_uid", f"user {self.uid} cannot run {real} "
                                  f"({blocked or real} is not accessible to others): use a "
                                  "Python installed where every user can run it")

    def hand_over(self, folder: Path) -> None:
        """Create ``folder`` (0700) and give it, and everything in it, to this user; refused
        when the user could not reach it (a parent folder without execute permission)."""
        folder = folder.resolve()
        blocked = self._reachable(folder)
        if blocked is not None:
            raise InvalidArgument("adversary_uid", f"user {self.uid} cannot reach {folder} "
                                  f"({blocked} is not searchable by others): put the data "
                                  "folder where it can")
        folder.mkdir(parents=True, exist_ok=True)
        for root, dirs, files in os.walk(folder):
            for name in [*dirs, *files]:
                os.chown(Path(root) / name, self.uid, self.gid, follow_symlinks=False)
        os.chown(folder, self.uid, self.gid)
        folder.chmod(0o700)
