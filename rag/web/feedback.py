"""Staff ratings of answers, kept in SQLite beside the index; thumbs-down ones export as eval items.

One row per rated answer: the question, the answer as shown, its citations (as in
`Answer.to_json()`), the rating (+1 or -1), an optional comment and when it was given. `export`
writes the thumbs-down rows as JSONL in the seed eval format (../shared/evals/README.md), with empty
`keys` and `evidence` for a person to fill in, and the bad answer and comment alongside.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from rag.config import Config
from rag.errors import RagError
from rag.types import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,      -- UTC, ISO 8601, when the rating was first given
    question TEXT NOT NULL,
    answer TEXT NOT NULL,       -- the answer as shown (or the refusal)
    refused INTEGER NOT NULL,
    citations TEXT NOT NULL,    -- JSON list of citations, as in Answer.to_json()
    rating INTEGER NOT NULL,    -- +1 thumbs up, -1 thumbs down
    comment TEXT NOT NULL DEFAULT ''
);
"""
UP, DOWN = 1, -1


def feedback_path(config: Config) -> Path:
    """Where the UI keeps ratings: beside the index folder, so that several indexes share it."""
    return Path(config.index_dir).parent / "feedback.sqlite"


def _connect(db_path: Path) -> sqlite3.Connection:
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(db_path, isolation_level=None)  # autocommit: every statement is its own transaction
    db.executescript(SCHEMA)
    return db


def record(db_path: Path, answer: Answer, rating: int, comment: str = "") -> int:
    """Store a rating of `answer`; returns the row id, which `update` takes."""
    if rating not in (UP, DOWN):
        raise RagError(f"a rating is {UP} (thumbs up) or {DOWN} (thumbs down), not {rating!r}")
    citations = json.dumps(answer.to_json()["citations"], ensure_ascii=False)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with closing(_connect(db_path)) as db:
        cursor = db.execute(
            "INSERT INTO feedback (created, question, answer, refused, citations, rating, comment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (created, answer.question, answer.text, int(answer.refused), citations, rating, comment.strip()),
        )
        return int(cursor.lastrowid)


def update(db_path: Path, row_id: int, *, rating: int | None = None, comment: str | None = None) -> None:
    """Change the rating or the comment of row `row_id` (the user changed their mind or added a note)."""
    if rating is not None and rating not in (UP, DOWN):
        raise RagError(f"a rating is {UP} (thumbs up) or {DOWN} (thumbs down), not {rating!r}")
    with closing(_connect(db_path)) as db:
        if rating is not None:
            db.execute("UPDATE feedback SET rating = ? WHERE id = ?", (rating, row_id))
        if comment is not None:
            db.execute("UPDATE feedback SET comment = ? WHERE id = ?", (comment.strip(), row_id))


def delete(db_path: Path, row_id: int) -> None:
    """Forget a rating (the user took it back)."""
    with closing(_connect(db_path)) as db:
        db.execute("DELETE FROM feedback WHERE id = ?", (row_id,))


def rows(db_path: Path) -> list[dict]:
    """Every rating, oldest first, citations decoded."""
    if not Path(db_path).is_file():
        return []
    with closing(_connect(db_path)) as db:
        db.row_factory = sqlite3.Row
        found = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
    return [{**dict(r), "refused": bool(r["refused"]), "citations": json.loads(r["citations"])} for r in found]


def export(db_path: Path, out_path: Path) -> int:
    """Write the thumbs-down answers to `out_path` as eval items (JSONL); returns how many."""
    if not Path(db_path).is_file():
        raise RagError(f"no feedback has been recorded yet: {db_path} does not exist")
    items = [
        {"id": f"feedback-{r['id']}", "question": r["question"], "answerable": True, "keys": [], "evidence": [],
         "bad_answer": r["answer"], "comment": r["comment"], "citations": r["citations"]}
        for r in rows(db_path) if r["rating"] == DOWN
    ]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    return len(items)
