"""The leaderboard's store: one SQLite row per accepted result, and the result itself as a reviewable JSON file.

``submit`` is atomic and safe under concurrent submits: the row is inserted inside an immediate
transaction (SQLite serialises writers; others wait up to ``BUSY_TIMEOUT_S``), the JSON file is written
(atomically) before the commit, and removed again if the commit fails. UNIQUE constraints refuse a
result submitted twice and a second result for the same grasps (same grasp-file bytes), whoever
submits it and whatever its metadata say.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_text

BUSY_TIMEOUT_S = 60.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    track TEXT NOT NULL,
    result_sha256 TEXT NOT NULL UNIQUE,
    submission_digest TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL,
    link TEXT NOT NULL,
    ranking_score REAL NOT NULL,
    submitted_at TEXT NOT NULL,
    file TEXT NOT NULL,
    scores TEXT NOT NULL,
    meta TEXT NOT NULL,
    run TEXT NOT NULL
)"""


class DuplicateEntryError(ValueError):
    """The result, or one for the same grasps, is already on the leaderboard."""


def _connect(db: Path) -> sqlite3.Connection:
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S, isolation_level=None)  # transactions are explicit
    con.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT_S * 1000))
    con.execute(SCHEMA)
    return con


def result_bytes(result: dict[str, Any]) -> bytes:
    """The canonical bytes a result is stored and hashed as."""
    return (json.dumps(result, indent=1, sort_keys=True) + "\n").encode("utf-8")


def submit(result: dict[str, Any], db: Path, folder: Path, replaces: str | None = None) -> dict[str, Any]:
    """Store ``result``; returns its entry. Raises ``DuplicateEntryError`` for a result already stored.

    ``replaces``: the id of an older entry of the same method and track that this one supersedes (a
    re-evaluated generator); it leaves the board in the same transaction, so readers see one or the other.
    """
    data = result_bytes(result)
    digest = hashlib.sha256(data).hexdigest()
    entry_id = digest[:12]
    meta = result["submission"]["meta"]
    path = Path(folder) / f"{entry_id}.json"
    con = _connect(Path(db))
    try:
        con.execute("BEGIN IMMEDIATE")  # the write lock now: the duplicate check and insert are one step
        try:
            clash = con.execute("SELECT id, method FROM entries WHERE result_sha256 = ? OR submission_digest = ?",
                                (digest, result["submission"]["digest"])).fetchone()
            if clash and clash[0] != replaces:
                raise DuplicateEntryError(f"already on the leaderboard as entry {clash[0]} ({clash[1]}): "
                                          "the same result or the same grasp files")
            old_file = None
            if replaces is not None:
                old = con.execute("SELECT method, track, file FROM entries WHERE id = ?", (replaces,)).fetchone()
                if old is None:
                    raise ValueError(f"--replaces {replaces}: no such entry")
                if (old[0], old[1]) != (meta["method"], result["track"]):
                    raise ValueError(f"--replaces {replaces}: that entry is {old[0]!r} on the {old[1]} track, this result "
                                     f"is {meta['method']!r} on the {result['track']} track")
                con.execute("DELETE FROM entries WHERE id = ?", (replaces,))
                old_file = Path(folder) / old[2]
            row = (entry_id, result["track"], digest, result["submission"]["digest"], meta["method"], meta["link"],
                   float(result["scores"]["ranking_score"]), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   path.name, json.dumps(result["scores"]), json.dumps(meta), json.dumps(result["run"]))
            con.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, data.decode("utf-8"))
            try:
                con.execute("COMMIT")
            except sqlite3.Error:
                path.unlink(missing_ok=True)
                raise
            if old_file is not None and old_file != path:
                old_file.unlink(missing_ok=True)
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return {"id": entry_id, "track": result["track"], "file": str(path), "method": meta["method"],
            "ranking_score": row[6]}


def entries(db: Path) -> list[dict[str, Any]]:
    """Every stored entry, best ranking score first (ties: earlier submission first)."""
    if not Path(db).is_file():
        return []
    con = _connect(Path(db))
    try:
        rows = con.execute("SELECT id, method, link, ranking_score, submitted_at, file, scores, meta, track, run "
                           "FROM entries ORDER BY ranking_score DESC, submitted_at, id").fetchall()
    finally:
        con.close()
    return [{"id": r[0], "method": r[1], "link": r[2], "ranking_score": r[3], "submitted_at": r[4], "file": r[5],
             "scores": json.loads(r[6]), "meta": json.loads(r[7]), "track": r[8], "run": json.loads(r[9])}
            for r in rows]
