"""Persistent exercise state: one SQLite file under the orchestrator's data directory.

Every transition is one SQL transaction, so a crash never leaves a half-written record. On
start-up ``mark_interrupted`` turns exercises that were running into INTERRUPTED; finished
exercises keep their attack results and report references.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from leakrange.artifacts import ArtifactRef
from leakrange.common.errors import FailedPrecondition, InvalidArgument, NotFound
from leakrange.orchestrator.records import (
    AttackRecord,
    ExerciseRecord,
    ExerciseState,
    MetricValue,
)

DB_FILE = "orchestrator.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exercises (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    spec_yaml TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    report_json TEXT,
    report_html TEXT,
    risk_level TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS exercises_state ON exercises(state);
CREATE TABLE IF NOT EXISTS attack_results (
    exercise_id TEXT NOT NULL,
    adversary TEXT NOT NULL,
    attack TEXT NOT NULL,
    family TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    metrics_json TEXT NOT NULL DEFAULT '[]',
    facts_json TEXT NOT NULL DEFAULT '[]',
    scores TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (exercise_id, adversary, attack)
);
"""

# A listing's continuation token: the last row's sequence number (ASCII digits, int64).
_PAGE_TOKEN = re.compile(r"[0-9]{1,18}")


def _ref_to_text(ref: ArtifactRef | None) -> str | None:
    if ref is None:
        return None
    return json.dumps({"sha256": ref.sha256, "size": ref.size, "media_type": ref.media_type,
                       "name": ref.name})


def _ref_from_text(text: str | None) -> ArtifactRef | None:
    if not text:
        return None
    doc = json.loads(text)
    return ArtifactRef(sha256=doc["sha256"], size=int(doc["size"]),
                       media_type=doc["media_type"], name=doc.get("name", ""))


def _metrics_to_text(metrics: Iterable[MetricValue]) -> str:
    return json.dumps([
        {"name": m.name, "value": m.value, "ci_low": m.ci_low, "ci_high": m.ci_high}
        for m in metrics
    ])


def _metrics_from_text(text: str) -> tuple[MetricValue, ...]:
    return tuple(
        MetricValue(d["name"], float(d["value"]), d.get("ci_low"), d.get("ci_high"))
        for d in json.loads(text or "[]")
    )


def new_exercise_id() -> str:
    return f"ex-{secrets.token_hex(6)}"


class ExerciseDB:
    """Thread-safe access to the exercise tables (one connection, serialised by a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: str | Path) -> ExerciseDB:
        return cls(Path(data_dir) / DB_FILE)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ----------------------------------------------------------- helpers

    def _tx(self, sql_and_args: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Run statements in one transaction; returns each statement's row count."""
        counts: list[int] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in sql_and_args:
                    counts.append(self._conn.execute(sql, args).rowcount)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return counts

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def _record(self, row: sqlite3.Row) -> ExerciseRecord:
        return ExerciseRecord(
            id=row["id"], name=row["name"], state=ExerciseState(row["state"]),
            spec_yaml=row["spec_yaml"], message=row["message"], created_at=row["created_at"],
            started_at=row["started_at"], finished_at=row["finished_at"],
            attacks=tuple(self.attacks(row["id"])),
            report_json=_ref_from_text(row["report_json"]),
            report_html=_ref_from_text(row["report_html"]),
            risk_level=row["risk_level"], attempts=row["attempts"],
        )

    # ------------------------------------------------------------ exercises

    def create(self, name: str, spec_yaml: str) -> ExerciseRecord:
        exercise_id = new_exercise_id()
        self._tx([(
            "INSERT INTO exercises (id, name, state, spec_yaml, created_at) VALUES (?, ?, ?, ?, ?)",
            (exercise_id, name, ExerciseState.QUEUED.value, spec_yaml, time.time()),
        )])
        return self.get(exercise_id)

    def get(self, exercise_id: str) -> ExerciseRecord:
        rows = self._query("SELECT * FROM exercises WHERE id = ?", (exercise_id,))
        if not rows:
            raise NotFound("exercise not found")
        return self._record(rows[0])

    def list_exercises(
        self, states: Iterable[ExerciseState] = (), limit: int = 100, page_token: str = ""
    ) -> tuple[list[ExerciseRecord], str]:
        """Exercises oldest first; ``page_token`` continues a previous listing."""
        after = 0
        if page_token:
            if not _PAGE_TOKEN.fullmatch(page_token):
                raise InvalidArgument("page_token", "not a token from a previous listing")
            after = int(page_token)
        wanted = [s.value for s in states]
        sql = "SELECT * FROM exercises WHERE seq > ?"
        args: list[Any] = [after]
        if wanted:
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            args += wanted
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit + 1)
        rows = self._query(sql, tuple(args))
        more = len(rows) > limit
        rows = rows[:limit]
        token = str(rows[-1]["seq"]) if more and rows else ""
        return [self._record(r) for r in rows], token

    def ids_in_state(self, state: ExerciseState) -> list[str]:
        rows = self._query("SELECT id FROM exercises WHERE state = ? ORDER BY seq", (state.value,))
        return [r["id"] for r in rows]

    def count_by_state(self) -> dict[ExerciseState, int]:
        rows = self._query("SELECT state, COUNT(*) AS n FROM exercises GROUP BY state")
        counts = dict.fromkeys(ExerciseState, 0)
        for row in rows:
            counts[ExerciseState(row["state"])] = int(row["n"])
        return counts

    def transition(
        self, exercise_id: str, to: ExerciseState, *, allowed_from: Iterable[ExerciseState],
        message: str = "",
    ) -> ExerciseRecord:
        """Move to ``to`` if the exercise is in one of ``allowed_from`` (atomically)."""
        origin = [s.value for s in allowed_from]
        now = time.time()
        sets = "state = ?, message = ?"
        args: list[Any] = [to.value, message]
        if to == ExerciseState.RUNNING:
            sets += ", started_at = ?, finished_at = NULL, attempts = attempts + 1"
            args.append(now)
        elif to == ExerciseState.QUEUED:
            sets += ", finished_at = NULL"
        else:
            sets += ", finished_at = ?"
            args.append(now)
        # Only fixed column names and "?" placeholders are formatted in; values are bound.
        sql = (f"UPDATE exercises SET {sets} WHERE id = ? "  # noqa: S608
               f"AND state IN ({','.join('?' * len(origin))})")
        (count,) = self._tx([(sql, (*args, exercise_id, *origin))])
        if count == 0:
            current = self.get(exercise_id)  # NotFound if it does not exist
            raise FailedPrecondition(f"exercise is {current.state.value}")
        return self.get(exercise_id)

    def mark_interrupted(self) -> list[str]:
        """Exercises left RUNNING by a previous process -> INTERRUPTED; returns their ids."""
        ids = self.ids_in_state(ExerciseState.RUNNING)
        for exercise_id in ids:
            self.transition(exercise_id, ExerciseState.INTERRUPTED,
                            allowed_from=[ExerciseState.RUNNING],
                            message="the orchestrator stopped while the exercise ran")
        return ids

    def set_report(
        self, exercise_id: str, report_json: ArtifactRef, report_html: ArtifactRef | None,
        risk_level: str,
    ) -> None:
        self._tx([(
            "UPDATE exercises SET report_json = ?, report_html = ?, risk_level = ? WHERE id = ?",
            (_ref_to_text(report_json), _ref_to_text(report_html), risk_level, exercise_id),
        )])

    # -------------------------------------------------------------- attacks

    def save_attack(self, exercise_id: str, record: AttackRecord) -> None:
        """Insert or replace the result of one (adversary, attack)."""
        self._tx([(
            "INSERT OR REPLACE INTO attack_results (exercise_id, adversary, attack, family, "
            "status, message, metrics_json, facts_json, scores, seq) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM attack_results WHERE exercise_id = ?))",
            (exercise_id, record.adversary, record.attack, record.family, record.status,
             record.message, _metrics_to_text(record.metrics), _metrics_to_text(record.facts),
             _ref_to_text(record.scores), exercise_id),
        )])

    def attacks(self, exercise_id: str) -> list[AttackRecord]:
        rows = self._query(
            "SELECT * FROM attack_results WHERE exercise_id = ? ORDER BY seq", (exercise_id,)
        )
        return [
            AttackRecord(
                adversary=r["adversary"], family=r["family"], attack=r["attack"],
                status=r["status"], message=r["message"],
                metrics=_metrics_from_text(r["metrics_json"]),
                facts=_metrics_from_text(r["facts_json"]),
                scores=_ref_from_text(r["scores"]),
            )
            for r in rows
        ]

    def clear_unfinished_attacks(self, exercise_id: str) -> None:
        """Before a resume: keep succeeded attacks (reused), forget failed/cancelled ones."""
        self._tx([(
            "DELETE FROM attack_results WHERE exercise_id = ? AND status != 'succeeded'",
            (exercise_id,),
        )])
