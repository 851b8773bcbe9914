"""Local range: attack processes as a separate OS user (LEAKRANGE_ADVERSARY_UID), where the OS
allows it (an orchestrator running as root). Real processes: the backend deploys a real attack
service, and the kernel decides what that user may read."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakrange.artifacts import open_store
from leakrange.common.errors import InvalidArgument
from leakrange.orchestrator.local import LocalBackend
from leakrange.orchestrator.local.adversary_user import AdversaryUser

ADVERSARY_UID = 65534  # nobody
ROOT = os.geteuid() == 0


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder every user can traverse (pytest's tmp_path parents are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="leakrange-advuser-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _system_python_with_our_packages(user: AdversaryUser) -> tuple[str, dict[str, str]]:
    """An interpreter of the same minor version that every user can run, importing this
    environment's packages (world-readable) through PYTHONPATH."""
    system = "/usr/bin/python3"
    if not Path(system).exists():
        pytest.skip("no interpreter the adversary user can run")
    user.check_can_run(system)
    version = subprocess.run([system, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == str(sys.version_info[:2]), "the system Python differs from this one"
    site = next(p for p in sys.path if p.endswith("site-packages"))
    services = str(Path(__file__).resolve().parents[2] / "services")
    return system, {"PYTHONPATH": f"{services}{os.pathsep}{site}"}


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


@pytest.mark.skipif(not ROOT, reason="a separate uid needs root; the non-root test covers the "
                                     "refusal")
def test_attack_processes_run_as_the_adversary_user_and_cannot_read_the_range_store(
    workdir: Path,
) -> None:
    range_store = workdir / "store"
    ref = open_store(str(range_store)).put_bytes(b"member ids 1 2 3", "application/json")
    user = AdversaryUser.choose(ADVERSARY_UID)
    assert user is not None
    try:
        user.check_can_run(sys.executable)
        python, extra_env = sys.executable, {}
    except InvalidArgument as err:
        # This Python is out of the adversary user's reach (e.g. a venv onto root's pyenv):
        # the backend refuses at once, naming it, instead of failing inside every adversary.
        with pytest.raises(InvalidArgument, match="cannot run") as refused:
            LocalBackend(str(range_store), workdir / "data", adversary_uid=ADVERSARY_UID)
        assert str(refused.value) == str(err)
        assert str(Path(sys.executable).resolve()) in str(err)
        python, extra_env = _system_python_with_our_packages(user)
    backend = LocalBackend(str(range_store), workdir / "data", ready_timeout=600,
                           adversary_uid=ADVERSARY_UID, python=python, extra_env=extra_env)
    try:
        deployment = backend.deploy("ex-uid", None, ["synthetic"], {"adv": "tok"})
        pids = backend.processes("ex-uid")
        assert _uid_of(pids["attack-synthetic"]) == ADVERSARY_UID
        assert deployment.attack_addresses["synthetic"]
        adversary_store = Path(backend.adversary_store_url)
        assert adversary_store.stat().st_uid == ADVERSARY_UID
    finally:
        backend.close()
    # What that user's code gets when it tries the range's files and its own folder.
    blob = next(p for p in range_store.rglob("*") if p.is_file() and ref.sha256 in p.name)
    probe = ("import os, sys\n"
             "for arg in sys.argv[1:]:\n"
             "    kind, path = arg.split(':', 1)\n"
             "    try:\n"
             "        open(path, 'rb').read() if kind == 'file' else os.listdir(path)\n"
             "        print('read')\n"
             "    except PermissionError:\n"
             "        print('denied')\n")
    own = adversary_store / "mine.txt"
    own.write_text("x")
    os.chown(own, ADVERSARY_UID, ADVERSARY_UID)
    result = subprocess.run(
        [python, "-c", probe, f"file:{blob}", f"dir:{range_store}", f"file:{own}"],
        user=ADVERSARY_UID, group=ADVERSARY_UID, extra_groups=[], capture_output=True,
        text=True, timeout=60, check=True)
    assert result.stdout.split() == ["denied", "denied", "read"]


@pytest.mark.skipif(not ROOT, reason="needs root to create the unreachable folder's owner")
def test_a_data_folder_the_adversary_user_cannot_reach_is_refused_with_its_name(
    workdir: Path,
) -> None:
    hidden = workdir / "private"
    hidden.mkdir(mode=0o700)
    user = AdversaryUser.choose(ADVERSARY_UID)
    assert user is not None
    with pytest.raises(InvalidArgument, match="not searchable by others"):
        user.hand_over(hidden / "data" / "adversary-home")


def test_without_a_requested_uid_adversaries_run_as_the_orchestrator_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEAKRANGE_ADVERSARY_UID", raising=False)
    assert AdversaryUser.choose() is None
    monkeypatch.setenv("LEAKRANGE_ADVERSARY_UID", "nobody")
    with pytest.raises(InvalidArgument, match="LEAKRANGE_ADVERSARY_UID"):
        AdversaryUser.choose()
    with pytest.raises(InvalidArgument, match="must not be root"):
        AdversaryUser.choose(0)
    if not ROOT:  # where the OS allows no other uid, asking for one is refused clearly
        with pytest.raises(InvalidArgument, match="needs an orchestrator running as root"):
            AdversaryUser.choose(ADVERSARY_UID)
    else:
        assert AdversaryUser.choose(ADVERSARY_UID) == AdversaryUser(ADVERSARY_UID, 65534)
