"""Exercise state in SQLite and event fan-out: what survives a restart, what a watcher sees."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leakrange.artifacts import ArtifactRef
from leakrange.common.errors import FailedPrecondition, InvalidArgument, NotFound
from leakrange.orchestrator.events import Event, EventHub, Progress
from leakrange.orchestrator.records import AttackRecord, ExerciseState, MetricValue
from leakrange.orchestrator.state import ExerciseDB

S = ExerciseState
REF = ArtifactRef(sha256="ab" * 32, size=10, media_type="application/json")


def _attack(name: str, status: str = "succeeded") -> AttackRecord:
    return AttackRecord(adversary="mia-0", family="mia", attack=name, status=status,
                        metrics=(MetricValue("auc", 0.75, 0.7, 0.8),), scores=REF,
                        facts=(MetricValue("queries", 600.0),))


def test_records_survive_a_restart_and_running_becomes_interrupted(tmp_path: Path) -> None:
    db = ExerciseDB.in_dir(tmp_path)
    done = db.create("done", "name: done\n")
    running = db.create("running", "name: running\n")
    queued = db.create("queued", "name: queued\n")
    for eid in (done.id, running.id):
        db.transition(eid, S.RUNNING, allowed_from=[S.QUEUED])
    db.save_attack(done.id, _attack("loss"))
    db.set_report(done.id, REF, None, "high")
    db.transition(done.id, S.SUCCEEDED, allowed_from=[S.RUNNING])
    db.save_attack(running.id, _attack("loss"))
    db.save_attack(running.id, _attack("lira", "failed"))
    # the process dies here without closing anything; a new one opens the same file
    again = ExerciseDB.in_dir(tmp_path)
    assert again.mark_interrupted() == [running.id]
    finished = again.get(done.id)
    assert finished.state == S.SUCCEEDED and finished.risk_level == "high"
    assert finished.report_json == REF and finished.report_html is None
    assert finished.attacks == (_attack("loss"),)
    interrupted = again.get(running.id)
    assert interrupted.state == S.INTERRUPTED and "stopped" in interrupted.message
    assert [a.attack for a in interrupted.attacks] == ["loss", "lira"]
    assert again.get(queued.id).state == S.QUEUED
    again.clear_unfinished_attacks(running.id)
    assert [a.attack for a in again.attacks(running.id)] == ["loss"]
    assert again.count_by_state()[S.INTERRUPTED] == 1
    assert again.get(running.id).attempts == 1


def test_transitions_are_guarded(tmp_path: Path) -> None:
    db = ExerciseDB.in_dir(tmp_path)
    record = db.create("x", "name: x\n")
    with pytest.raises(FailedPrecondition, match="exercise is queued"):
        db.transition(record.id, S.SUCCEEDED, allowed_from=[S.RUNNING])
    running = db.transition(record.id, S.RUNNING, allowed_from=[S.QUEUED])
    assert running.started_at is not None and running.finished_at is None
    failed = db.transition(record.id, S.FAILED, allowed_from=[S.RUNNING], message="boom")
    assert failed.finished_at is not None and failed.message == "boom"
    with pytest.raises(NotFound):
        db.get("ex-missing")


def test_concurrent_claims_let_exactly_one_win(tmp_path: Path) -> None:
    db = ExerciseDB.in_dir(tmp_path)
    record = db.create("x", "name: x\n")
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def claim(n: int) -> None:
        barrier.wait()
        try:
            db.transition(record.id, S.RUNNING, allowed_from=[S.QUEUED])
            wins.append(str(n))
        except FailedPrecondition:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert db.get(record.id).attempts == 1


def test_listing_pages_and_filters(tmp_path: Path) -> None:
    db = ExerciseDB.in_dir(tmp_path)
    ids = [db.create(f"e{n}", "name: x\n").id for n in range(7)]
    db.transition(ids[3], S.RUNNING, allowed_from=[S.QUEUED])
    page, token = db.list_exercises(limit=3)
    seen = [r.id for r in page]
    while token:
        page, token = db.list_exercises(limit=3, page_token=token)
        seen += [r.id for r in page]
    assert seen == ids
    running, token = db.list_exercises([S.RUNNING])
    assert [r.id for r in running] == [ids[3]] and token == ""
    with pytest.raises(InvalidArgument, match="page_token"):
        db.list_exercises(page_token="abc")


def test_hub_replays_then_follows_until_final() -> None:
    hub = EventHub()
    hub.publish(Event("e1", state=S.QUEUED))
    hub.publish(Event("e1", progress=Progress("querying", 5, 10)))
    received: list[Event] = []
    follower = threading.Thread(
        target=lambda: received.extend(hub.follow("e1", lambda: True, poll=0.05)))
    follower.start()
    hub.publish(Event("e1", attack_finished=_attack("loss")))
    hub.publish(Event("e1", state=S.SUCCEEDED))
    hub.publish(Event("e1", log="after the end"))
    follower.join(10)
    assert not follower.is_alive()
    assert [e.state for e in received] == [S.QUEUED, None, None, S.SUCCEEDED]
    assert received[1].progress == Progress("querying", 5, 10)
    # a late watcher gets the replay without progress noise, ending at the final state
    late = list(hub.follow("e1", lambda: True, poll=0.05))
    assert [e.state for e in late] == [S.QUEUED, None, S.SUCCEEDED]
    assert late[1].attack_finished is not None


def test_hub_seed_and_reopen() -> None:
    hub = EventHub()
    hub.seed("e2", [Event("e2", state=S.INTERRUPTED)])
    assert [e.state for e in hub.follow("e2", lambda: True, poll=0.05)] == [S.INTERRUPTED]
    hub.reopen("e2")
    hub.publish(Event("e2", state=S.QUEUED))
    hub.publish(Event("e2", state=S.SUCCEEDED))
    assert [e.state for e in hub.follow("e2", lambda: True, poll=0.05)] == \
        [S.QUEUED, S.SUCCEEDED]
    # an inactive watcher of an exercise that never ends stops on its own
    assert list(hub.follow("never", lambda: False, poll=0.01)) == []
